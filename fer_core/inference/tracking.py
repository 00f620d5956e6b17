"""Stable face ids across frames by IoU matching, with per-id probability smoothing."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fer_core.inference.boxes import Box, iou


@dataclass
class Track:
    face_id: int
    box: Box
    probabilities: np.ndarray | None = None
    last_time: float | None = None
    missed: int = 0  # detection rounds in a row that did not find this face

    def smooth(self, probabilities: np.ndarray, now: float, time_constant: float) -> np.ndarray:
        """Exponential smoothing in time: a step change reaches ~95% after 3 time constants."""
        if self.probabilities is None or self.last_time is None or time_constant <= 0:
            self.probabilities = probabilities.astype(np.float32)
        else:
            alpha = 1.0 - math.exp(-max(0.0, now - self.last_time) / time_constant)
            self.probabilities = (1 - alpha) * self.probabilities + alpha * probabilities
        self.last_time = now
        return self.probabilities


class FaceTracker:
    """Greedy IoU matching of detections to tracks; a track ends after `max_missed` rounds unseen."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 2):
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.tracks: list[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        self.tracks = []
        self._next_id = 1

    def update(self, detections: list[Box]) -> list[Track]:
        """Match one round of detections; returns the live tracks (matched or new ones first-class)."""
        pairs = sorted(((iou(t.box, d), ti, di) for ti, t in enumerate(self.tracks) for di, d in enumerate(detections)),
                       reverse=True)
        used_tracks, used_detections = set(), set()
        for overlap, ti, di in pairs:
            if overlap < self.iou_threshold:
                break
            if ti in used_tracks or di in used_detections:
                continue
            used_tracks.add(ti)
            used_detections.add(di)
            self.tracks[ti].box = detections[di]
            self.tracks[ti].missed = 0
        for ti, track in enumerate(self.tracks):
            if ti not in used_tracks:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for di, box in enumerate(detections):
            if di not in used_detections:
                self.tracks.append(Track(self._next_id, box))
                self._next_id += 1
        return self.visible()

    def visible(self) -> list[Track]:
        """Tracks found in the latest detection round, left to right."""
        return sorted((t for t in self.tracks if t.missed == 0), key=lambda t: (t.box.x, t.box.y))
