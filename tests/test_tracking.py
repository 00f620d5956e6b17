import numpy as np
import pytest

from fer_core.inference.detect import Box
from fer_core.inference.tracking import FaceTracker, Track, iou


def test_iou():
    assert iou(Box(0, 0, 10, 10), Box(0, 0, 10, 10)) == 1.0
    assert iou(Box(0, 0, 10, 10), Box(20, 20, 5, 5)) == 0.0
    assert iou(Box(0, 0, 10, 10), Box(5, 0, 10, 10)) == pytest.approx(50 / 150)


def test_ids_stay_with_moving_faces_and_new_faces_get_new_ids():
    tracker = FaceTracker()
    first = tracker.update([Box(10, 10, 100, 100), Box(300, 10, 100, 100)])
    assert [t.face_id for t in first] == [1, 2]
    moved = tracker.update([Box(305, 12, 100, 100), Box(16, 14, 100, 100), Box(600, 300, 80, 80)])
    assert [(t.face_id, t.box.x) for t in moved] == [(1, 16), (2, 305), (3, 600)]


def test_lost_faces_end_after_max_missed_rounds():
    tracker = FaceTracker(max_missed=2)
    tracker.update([Box(10, 10, 100, 100)])
    assert tracker.update([]) == [] and len(tracker.tracks) == 1
    tracker.update([])
    assert len(tracker.tracks) == 1
    tracker.update([])
    assert tracker.tracks == []
    assert [t.face_id for t in tracker.update([Box(10, 10, 100, 100)])] == [2]


def test_smoothing_follows_a_real_change_within_half_a_second_at_30_fps():
    track = Track(1, Box(0, 0, 1, 1))
    calm, happy = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    t = 0.0
    for _ in range(30):
        track.smooth(calm, t, time_constant=0.15)
        t += 1 / 30
    flips = []
    for _ in range(30):
        flips.append(track.smooth(happy, t, time_constant=0.15)[1])
        t += 1 / 30
    assert flips[0] < 0.5  # one odd frame does not flip the label
    first_majority = next(i for i, p in enumerate(flips) if p > 0.5)
    assert (first_majority + 1) / 30 <= 0.5
    assert flips[14] > 0.9  # within half a second the new emotion dominates
