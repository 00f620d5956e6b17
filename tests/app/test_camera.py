"""The camera page's session: the callback, the queue, the timeline, the downloads' content (no browser)."""

import csv
import io

import av
import cv2
import numpy as np
import pytest

import fer_core.inference.live as live_module
from app.camera import CameraSession, ViewOptions
from fer_core.inference.boxes import Box, Detection
from fer_core.inference.predictor import Predictor
from helpers import open_page


@pytest.fixture()
def camera(tiny_model, monkeypatch):
    monkeypatch.setattr(live_module, "detect", lambda frame, config: [Detection(Box(40, 30, 80, 80), 0.9)])
    return CameraSession(Predictor.load(tiny_model))


def test_annotate_mirrors_draws_and_measures_rate(tiny_model, monkeypatch):
    seen = []

    def fake_detect(frame, config):
        seen.append(frame[0, 0].copy())
        return [Detection(Box(10, 10, 50, 50), 1.0)]

    monkeypatch.setattr(live_module, "detect", fake_detect)
    camera = CameraSession(Predictor.load(tiny_model))
    frame = np.zeros((100, 120, 3), np.uint8)
    frame[0, -1] = 255  # a marker in the top-right corner
    camera.view = ViewOptions(mirror=True, show_scores=True)
    result = camera.annotate(frame, timestamp=0.0)
    assert (seen[0] == 255).all()  # mirrored before detection, so the marker is top-left
    assert result.annotated.shape == frame.shape and len(result.faces) == 1 and result.faces[0].face_id == 1
    assert camera.annotate(frame, timestamp=0.05).fps == pytest.approx(20.0)


def test_callback_returns_an_annotated_frame_and_queues_the_results(camera):
    callback = camera.video_callback()
    image = np.full((240, 320, 3), 90, np.uint8)
    for _ in range(40):  # past the queue's 32 places: the rest are dropped, never blocking the video
        out = callback(av.VideoFrame.from_ndarray(image, format="bgr24"))
    annotated = out.to_ndarray(format="bgr24")
    assert annotated.shape == image.shape and not np.array_equal(annotated, image)
    assert camera.results.qsize() == 32
    first = camera.results.get_nowait()
    assert len(first.faces) == 1 and first.faces[0].face_id == 1 and first.faces[0].box == Box(40, 30, 80, 80)


def test_the_timeline_csv_has_every_probability_per_face_and_frame(camera):
    callback = camera.video_callback()
    image = np.full((240, 320, 3), 90, np.uint8)
    for _ in range(5):
        callback(av.VideoFrame.from_ndarray(image, format="bgr24"))
    assert len(camera.drain()) == 5 and camera.frames == 5
    rows = list(csv.DictReader(io.StringIO(camera.timeline_csv())))
    assert len(rows) == 5 and list(rows[0])[:8] == ["time_s", "face_id", "x", "y", "w", "h", "emotion", "confidence"]
    assert list(rows[0])[8:] == camera.labels
    for row in rows:
        assert row["face_id"] == "1" and row["emotion"] in camera.labels
        assert sum(float(row[name]) for name in camera.labels) == pytest.approx(1, abs=1e-3)
    times = [float(row["time_s"]) for row in rows]
    assert times[0] == 0 and times == sorted(times)


def test_the_summary_gives_each_face_its_share_of_time_per_emotion(camera):
    from app.camera import FrameResult
    from fer_core.inference.pipeline import FaceResult

    labels = camera.labels
    def face(face_id, emotion):
        return FaceResult(Box(0, 0, 10, 10), emotion, 0.9, dict.fromkeys(labels, 0.0) | {emotion: 0.9}, face_id)

    frame = np.zeros((20, 20, 3), np.uint8)
    for t, emotions in enumerate([("happy", "sad"), ("happy", "sad"), ("happy", "neutral"), ("sad", None)]):
        faces = [face(1, emotions[0])] + ([face(2, emotions[1])] if emotions[1] else [])
        camera.record(FrameResult(float(t), faces, 10.0, frame))
    summary = camera.summary()
    assert summary[1]["happy"] == pytest.approx(0.75) and summary[1]["sad"] == pytest.approx(0.25)
    assert summary[2]["sad"] == pytest.approx(2 / 3) and summary[2]["neutral"] == pytest.approx(1 / 3)
    assert all(sum(shares.values()) == pytest.approx(1) for shares in summary.values())


def test_the_snapshot_is_the_latest_annotated_frame_as_png(camera):
    assert camera.snapshot_png() == b""
    callback = camera.video_callback()
    image = np.full((240, 320, 3), 90, np.uint8)
    callback(av.VideoFrame.from_ndarray(image, format="bgr24"))
    camera.drain()
    decoded = cv2.imdecode(np.frombuffer(camera.snapshot_png(), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded, camera.latest.annotated)
    camera.clear()
    assert camera.timeline_rows() == [] and camera.latest is None and camera.snapshot_png() == b""


def test_a_new_stream_starts_without_the_old_tracks(camera):
    callback = camera.video_callback()
    image = np.full((240, 320, 3), 90, np.uint8)
    callback(av.VideoFrame.from_ndarray(image, format="bgr24"))
    assert camera.live.tracker.tracks
    camera.on_video_ended()
    assert not camera.live.tracker.tracks and camera.live.frame_index == 0


def test_large_frames_are_scaled_down_before_analysis(camera):
    from app.camera import MAX_FRAME_SIDE

    result = camera.annotate(np.full((2160, 3840, 3), 90, np.uint8), timestamp=1.0)
    assert result.annotated.shape == (720, MAX_FRAME_SIDE, 3)
    assert camera.annotate(np.full((480, 640, 3), 90, np.uint8), timestamp=2.0).annotated.shape == (480, 640, 3)


def test_the_stream_registry_admits_up_to_its_limit_and_forgets_idle_streams():
    from app.camera import STREAM_IDLE_SECONDS, StreamRegistry

    streams = StreamRegistry()
    for session in (1, 2):
        streams.beat(session, now=100.0)
    assert streams.admits(1, limit=2, now=101.0) and not streams.admits(3, limit=2, now=101.0)
    streams.forget(2)
    assert streams.admits(3, limit=2, now=101.0)
    assert streams.active(now=100.0 + STREAM_IDLE_SECONDS + 1) == set()


def test_a_user_beyond_the_stream_limit_is_told_to_wait(monkeypatch):
    from app import camera as camera_module

    for session in range(camera_module.MAX_CAMERA_STREAMS):
        camera_module.STREAMS.beat(10_000 + session)
    try:
        at = open_page("1_Live_camera.py")
        assert not at.exception
        assert any("as many as it takes at once" in w.value for w in at.warning)
    finally:
        for session in range(camera_module.MAX_CAMERA_STREAMS):
            camera_module.STREAMS.forget(10_000 + session)
