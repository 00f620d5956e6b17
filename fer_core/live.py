"""LiveAnalyzer: the stateful per-frame path for camera and video (detect every few frames, track, batch-classify,
smooth per face)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from .detect import DetectorConfig, detect
from .paths import live_model_path
from .pipeline import Analyzer, FaceResult, draw_results
from .predictor import Predictor
from .tracking import FaceTracker
from .tta import tta_mode

LIVE_DETECTOR = DetectorConfig(scale_factor=1.15, min_neighbors=5, min_face=60, max_side=320)
# From benchmarks/realtime.py (docs/performance.md), 640x480 with 6 faces: YuNet on every frame runs at 6.6x the
# `fer` package, on every 2nd above the 7x target while detecting half the frames; Haar costs 4x more per detection.
DETECT_EVERY = {"yunet": 2, "haar": 3}


@dataclass(frozen=True)
class LiveSettings:
    detector: DetectorConfig = LIVE_DETECTOR
    # Run the detector on every Nth frame and reuse tracked boxes in between; None: DETECT_EVERY[detector method].
    detect_every: int | None = None
    time_constant: float = 0.15  # seconds; labels follow a real change within ~0.45 s
    tta: str = "none"  # smoothing over frames already averages views of each face; TTA would cost each frame 2-18x


@dataclass(frozen=True)
class ViewOptions:
    """How annotated frames look: mirror like a selfie camera, per-class bars, grey out unsure faces."""

    mirror: bool = False
    show_scores: bool = False
    min_confidence: float = 0.0


class FrameRateMeter:
    """Frames per second over the last `window` frames."""

    def __init__(self, window: int = 30):
        self._times: deque[float] = deque(maxlen=window)

    def tick(self, now: float | None = None) -> float:
        self._times.append(time.monotonic() if now is None else now)
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])


class LiveAnalyzer:
    """One per camera session or video; `process(frame)` returns that frame's tracked, smoothed faces.

    Not thread-safe by itself (it keeps state between frames); the shared Predictor inside is.
    """

    def __init__(self, predictor: Predictor | None = None, settings: LiveSettings = LiveSettings()):
        """predictor defaults to the camera's model (paths.live_model_path)."""
        self.analyzer = Analyzer(predictor or Predictor.load(live_model_path()), settings.detector, settings.tta)
        self.settings = settings
        self.tracker = FaceTracker()
        self.frame_index = 0
        self.view = ViewOptions()
        self.meter = FrameRateMeter()
        self.fps = 0.0

    @property
    def labels(self) -> tuple[str, ...]:
        return self.analyzer.labels

    def update_settings(self, **changes) -> None:
        """Change detector or smoothing settings between frames (e.g. from UI controls)."""
        self.settings = replace(self.settings, **changes)
        self.analyzer.detector = self.settings.detector
        self.analyzer.tta = tta_mode(self.settings.tta)

    def reset(self) -> None:
        self.tracker.reset()
        self.frame_index = 0

    def process(self, frame: np.ndarray, timestamp: float | None = None) -> list[FaceResult]:
        """Faces in one BGR uint8 frame; `timestamp` (seconds) drives smoothing, wall clock if omitted."""
        now = time.monotonic() if timestamp is None else timestamp
        every = self.settings.detect_every or DETECT_EVERY[self.settings.detector.method]
        if self.frame_index % max(1, every) == 0 or not self.tracker.tracks:
            detections = {d.box: d for d in detect(frame, self.settings.detector)}
            tracks = self.tracker.update(list(detections))
        else:
            detections, tracks = {}, self.tracker.visible()
        self.frame_index += 1
        if not tracks:
            return []
        # A face detected in this frame is cropped from its detection (landmarks level the eyes); a tracked one
        # from its last box.
        raw = self.analyzer.classify(frame, [detections.get(t.box, t.box) for t in tracks])
        results = []
        for track, result in zip(tracks, raw, strict=True):
            smoothed = track.smooth(np.fromiter(result.scores.values(), np.float32), now, self.settings.time_constant)
            top = int(np.argmax(smoothed))
            scores = {name: float(p) for name, p in zip(self.labels, smoothed, strict=True)}
            results.append(FaceResult(track.box, self.labels[top], float(smoothed[top]), scores, track.face_id))
        return results

    def annotate(self, frame: np.ndarray, timestamp: float | None = None) -> tuple[np.ndarray, list[FaceResult]]:
        """process() plus drawing with the current ViewOptions: the whole job of a camera callback."""
        view = self.view
        if view.mirror:
            frame = np.ascontiguousarray(frame[:, ::-1])
        results = self.process(frame, timestamp)
        self.fps = self.meter.tick(timestamp)
        annotated = draw_results(frame, results, show_scores=view.show_scores, min_confidence=view.min_confidence)
        return annotated, results
