"""LiveAnalyzer: the stateful per-frame path for camera and video (detect every few frames, track, batch-classify,
smooth per face)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fer_core.inference.boxes import Box, Detection
from fer_core.inference.detect import DetectorConfig, detect
from fer_core.inference.pipeline import Analyzer, FaceResult, results_from_probabilities
from fer_core.inference.predictor import Predictor
from fer_core.inference.tracking import FaceTracker
from fer_core.inference.tta import tta_mode
from fer_core.runs.registry import camera_model_path

LIVE_DETECTOR = DetectorConfig(scale_factor=1.15, min_neighbors=5, min_face=60, max_side=320, retry_threshold=None)
# From benchmarks/realtime.py (docs/performance.md), 640x480 with 6 faces: YuNet on every frame runs at 6.6x the
# `fer` package, on every 2nd above the 7x target while detecting half the frames; Haar costs 4x more per detection.
DETECT_EVERY = {"yunet": 2, "haar": 3}


@dataclass(frozen=True)
class LiveSettings:
    detector: DetectorConfig = LIVE_DETECTOR
    # Run the detector on every Nth frame and reuse tracked boxes in between; None: DETECT_EVERY[detector method].
    detect_every: int | None = None
    # Seconds over which a face's probabilities are averaged; labels follow a real change within about three times
    # this. Chosen on label flips of still faces moving before a camera (benchmarks/label_stability.py,
    # docs/performance.md).
    time_constant: float = 0.3
    tta: str = "none"  # smoothing over frames already averages views of each face; TTA would cost each frame 2-18x


class LiveAnalyzer:
    """One per camera session or video; `process(frame)` returns that frame's tracked, smoothed faces.

    Not thread-safe by itself (it keeps state between frames); the shared Predictor inside is.
    """

    def __init__(self, predictor: Predictor | None = None, settings: LiveSettings = LiveSettings()):
        """predictor defaults to the camera's model (registry.camera_model_path)."""
        self.analyzer = Analyzer(predictor or Predictor.load(camera_model_path()), settings.detector, settings.tta)
        self.settings = settings
        self.tracker = FaceTracker()
        self.frame_index = 0
        self.last_detection: dict[int, Detection | Box] = {}  # per face id: what detection last found

    @property
    def labels(self) -> tuple[str, ...]:
        return self.analyzer.labels

    def update_settings(self, **changes: Any) -> None:
        """Change detector or smoothing settings between frames (e.g. from UI controls)."""
        self.settings = replace(self.settings, **changes)
        self.analyzer.detector = self.settings.detector
        self.analyzer.tta = tta_mode(self.settings.tta)

    def reset(self) -> None:
        self.tracker.reset()
        self.frame_index = 0
        self.last_detection = {}

    def process(self, frame: np.ndarray, timestamp: float | None = None) -> list[FaceResult]:
        """Faces in one BGR uint8 frame; `timestamp` (seconds) drives smoothing, wall clock if omitted."""
        now = time.monotonic() if timestamp is None else timestamp
        every = self.settings.detect_every or DETECT_EVERY[self.settings.detector.method]
        if self.frame_index % max(1, every) == 0 or not self.tracker.tracks:
            detections = {d.box: d for d in detect(frame, self.settings.detector)}
            tracks = self.tracker.update(list(detections))
            # Between detections a face is cropped as it was last detected (its landmarks align it), so its crop
            # does not switch between aligned and box-framed from one frame to the next.
            self.last_detection = {t.face_id: detections.get(t.box, t.box) for t in tracks}
        else:
            tracks = self.tracker.visible()
        self.frame_index += 1
        if not tracks:
            return []
        raw = self.analyzer.classify(frame, [self.last_detection.get(t.face_id, t.box) for t in tracks])
        tau = self.settings.time_constant
        smoothed = np.stack([track.smooth(np.fromiter(result.scores.values(), np.float32), now, tau)
                             for track, result in zip(tracks, raw, strict=True)])
        return results_from_probabilities([t.box for t in tracks], smoothed, self.labels, [t.face_id for t in tracks])
