"""The camera page's per-session state, kept in memory for the browser session only.

streamlit-webrtc calls the video callback on its own worker thread, so the callback does frame -> fer_core ->
annotated frame and nothing else: no st.* calls. Its results leave through a queue, which the page's loop drains
into the session's timeline.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from app.timeline import Timeline
from fer_core.inference.draw import draw_results
from fer_core.inference.imageio import encode_png
from fer_core.inference.live import LiveAnalyzer, LiveSettings
from fer_core.inference.pipeline import FaceResult
from fer_core.inference.predictor import Predictor

# Camera streams one server process analyses at once ($FER_MAX_CAMERA_STREAMS); a further user is asked to wait.
# Each takes about a quarter of 2 cores at 30 frames/s with six faces (docs/performance.md).
MAX_CAMERA_STREAMS = int(os.environ.get("FER_MAX_CAMERA_STREAMS", "8"))
# Frames are scaled down to this longer side before analysis: a browser may send any size it likes.
MAX_FRAME_SIDE = 1280
# A stream that sent no frame for this long no longer counts as active.
STREAM_IDLE_SECONDS = 5.0


class StreamRegistry:
    """Which camera sessions of this process are streaming: each frame's callback reports its session."""

    def __init__(self) -> None:
        self._last_frame: dict[int, float] = {}
        self._lock = threading.Lock()

    def beat(self, session: int, now: float | None = None) -> None:
        with self._lock:
            self._last_frame[session] = time.monotonic() if now is None else now

    def forget(self, session: int) -> None:
        with self._lock:
            self._last_frame.pop(session, None)

    def active(self, now: float | None = None) -> set[int]:
        now = time.monotonic() if now is None else now
        with self._lock:
            for session in [s for s, t in self._last_frame.items() if now - t > STREAM_IDLE_SECONDS]:
                del self._last_frame[session]
            return set(self._last_frame)

    def admits(self, session: int, limit: int, now: float | None = None) -> bool:
        """A session already streaming keeps its place; another starts only below the limit."""
        active = self.active(now)
        return session in active or len(active) < limit


STREAMS = StreamRegistry()


def fit_frame(frame: np.ndarray, max_side: int = MAX_FRAME_SIDE) -> np.ndarray:
    """The frame, scaled down so that its longer side is at most max_side."""
    side = max(frame.shape[:2])
    if side <= max_side:
        return frame
    scale = max_side / side
    return cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)),
                      interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class ViewOptions:
    """How annotated frames look: mirror like a selfie camera, per-class bars, grey out unsure faces."""

    mirror: bool = False
    show_scores: bool = False
    min_confidence: float = 0.0


@dataclass(frozen=True)
class FrameResult:
    """What the callback hands the page for one frame: when, the faces, the frame rate, the annotated frame."""

    time: float
    faces: list[FaceResult]
    fps: float
    annotated: np.ndarray


class FrameRateMeter:
    """Frames per second over the last `window` frames."""

    def __init__(self, window: int = 30):
        self._times: deque[float] = deque(maxlen=window)

    def tick(self, now: float | None = None) -> float:
        self._times.append(time.monotonic() if now is None else now)
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    def reset(self) -> None:
        self._times.clear()


class CameraSession:
    """One per browser session: the LiveAnalyzer (it keeps tracks between frames), the view options, the queue the
    callback fills, and what the page has drained from it (the timeline rows and the latest annotated frame)."""

    def __init__(self, predictor: Predictor, settings: LiveSettings = LiveSettings()):
        self.live = LiveAnalyzer(predictor, settings)
        self.view = ViewOptions()
        self.meter = FrameRateMeter()
        self.results: queue.Queue[FrameResult] = queue.Queue(maxsize=32)
        self.timeline = Timeline(len(self.live.labels))
        self.latest: FrameResult | None = None
        self.frames = 0  # frames the page has received from the callback since the session's data was cleared
        self._started: float | None = None

    @property
    def labels(self) -> list[str]:
        return list(self.live.labels)

    def annotate(self, frame: np.ndarray, timestamp: float | None = None) -> FrameResult:
        """One BGR frame: mirrored as the view says, analysed, drawn."""
        view = self.view  # one read: the page may swap it between frames
        frame = fit_frame(frame)
        if view.mirror:
            frame = np.ascontiguousarray(frame[:, ::-1])
        faces = self.live.process(frame, timestamp)
        fps = self.meter.tick(timestamp)
        annotated = draw_results(frame, faces, show_scores=view.show_scores, min_confidence=view.min_confidence)
        return FrameResult(time.time() if timestamp is None else timestamp, faces, fps, annotated)

    def video_callback(self):
        """The streamlit-webrtc callback: av frame in, annotated av frame out; the result goes on the queue."""
        import av

        def callback(frame: av.VideoFrame) -> av.VideoFrame:
            STREAMS.beat(id(self))
            result = self.annotate(frame.to_ndarray(format="bgr24"))
            try:
                self.results.put_nowait(result)
            except queue.Full:
                pass  # the panel is behind; the video itself must not wait for it
            return av.VideoFrame.from_ndarray(result.annotated, format="bgr24")

        return callback

    def on_video_ended(self) -> None:
        """The stream stopped: the next one starts with no tracks and a fresh frame rate."""
        STREAMS.forget(id(self))
        self.live.reset()
        self.meter.reset()

    def drain(self) -> list[FrameResult]:
        """Every result the callback queued since the last call, recorded in the timeline; the newest is `latest`."""
        drained = []
        while True:
            try:
                drained.append(self.results.get_nowait())
            except queue.Empty:
                break
        for result in drained:
            self.record(result)
        return drained

    def record(self, result: FrameResult) -> None:
        if self._started is None:
            self._started = result.time
        if result.faces:
            seconds, labels = result.time - self._started, self.labels
            block = np.array([[seconds, f.face_id or 0, *f.box, labels.index(f.emotion), f.confidence,
                               *(f.scores.get(name, 0.0) for name in labels)] for f in result.faces], np.float32)
            self.timeline.append(block)
        self.latest = result
        self.frames += 1

    def timeline_rows(self, last: int | None = None) -> list[dict]:
        """The `last` rows of the session's timeline (for the page's chart), one dict per face per analysed frame."""
        labels = self.labels
        return [{"time_s": round(float(row[0]), 3), "face_id": int(row[1]), "x": int(row[2]), "y": int(row[3]),
                 "w": int(row[4]), "h": int(row[5]), "emotion": labels[int(row[6])],
                 "confidence": round(float(row[7]), 4)}
                | {name: round(float(p), 4) for name, p in zip(labels, row[8:], strict=True)}
                for row in self.timeline.table(last)]

    def timeline_csv(self) -> str:
        """The session's timeline: one row per face per analysed frame, with every probability."""
        return "".join(self.timeline.csv_chunks(self.labels))

    def snapshot_png(self) -> bytes:
        """The latest annotated frame as PNG (empty before the first frame)."""
        latest = self.latest
        return b"" if latest is None else encode_png(latest.annotated)

    def summary(self) -> dict[int, dict[str, float]]:
        """Per face id, the share of its analysed frames spent in each emotion (its top label)."""
        table = self.timeline.table()
        if not len(table):
            return {}
        faces, emotions = table[:, 1].astype(int), table[:, 6].astype(int)
        shares = {}
        for face in np.unique(faces):
            counts = np.bincount(emotions[faces == face], minlength=len(self.labels))
            shares[int(face)] = dict(zip(self.labels, (counts / counts.sum()).tolist(), strict=True))
        return shares

    def clear(self) -> None:
        """Forget the timeline and the latest frame (the user's choice; nothing was written anywhere)."""
        self.timeline.clear()
        self.latest = None
        self.frames = 0
        self._started = None
