"""Video files: decode with PyAV, run the camera's tracked and smoothed pipeline, write an annotated video and a
per-frame CSV. Audio is dropped; frame rate and size are kept."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from fer_core.inference.draw import draw_results
from fer_core.inference.live import LiveAnalyzer, LiveSettings
from fer_core.inference.pipeline import FaceResult
from fer_core.inference.predictor import Predictor
from fer_core.inference.rows import face_rows

# H.264 in MP4 plays in every browser; PyAV's wheels ship libx264. MPEG-4 Part 2 is the fallback where it is missing.
CODECS = ("libx264", "mpeg4")
CSV_FIELDS = ["frame", "time_s", "face_id", "x", "y", "w", "h", "emotion", "confidence"]


class VideoError(RuntimeError):
    """The input is not a readable video."""


@dataclass(frozen=True)
class VideoSummary:
    frames: int
    fps: float
    width: int
    height: int
    face_ids: tuple[int, ...]
    codec: str | None
    seconds: float
    cancelled: bool = False


def _open_output(target, fps: Fraction, width: int, height: int):
    """target: a path, or a seekable binary file object (e.g. io.BytesIO) that receives MP4 bytes."""
    if isinstance(target, (str, Path)):
        container = av.open(str(target), mode="w")
    else:
        container = av.open(target, mode="w", format="mp4")
    for name in CODECS:
        try:
            stream = container.add_stream(name, rate=fps)
        except (av.FFmpegError, ValueError):
            continue
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if name == "libx264":
            stream.options = {"crf": "23", "preset": "veryfast", "movflags": "+faststart"}
        return container, stream, name
    container.close()
    raise VideoError("no H.264 or MPEG-4 encoder available in this PyAV build")


class _Outputs:
    """Where a video's results go: the annotated video (cropped to even sides for yuv420p), the CSV, on_rows."""

    def __init__(self, out, csv_path, labels, fps, width: int, height: int, on_rows):
        self.even_w, self.even_h = width - width % 2, height - height % 2
        self.video = self.stream = self.codec = None
        self.csv_file = self.writer = None
        self.on_rows = on_rows
        if csv_path:
            self.csv_file = open(csv_path, "w", newline="")
            self.writer = csv.DictWriter(self.csv_file, CSV_FIELDS + list(labels))
            self.writer.writeheader()
        if out is not None:
            self.video, self.stream, self.codec = _open_output(out, fps, self.even_w, self.even_h)

    def rows(self, rows: list[dict]) -> None:
        if self.writer:
            self.writer.writerows(rows)
        if self.on_rows:
            self.on_rows(rows)

    def frame(self, image: np.ndarray, results: list[FaceResult]) -> None:
        if self.video:
            annotated = np.ascontiguousarray(draw_results(image, results)[:self.even_h, :self.even_w])
            for packet in self.stream.encode(av.VideoFrame.from_ndarray(annotated, format="bgr24")):
                self.video.mux(packet)

    def close(self) -> None:
        if self.video:
            for packet in self.stream.encode():
                self.video.mux(packet)
            self.video.close()
        if self.csv_file:
            self.csv_file.close()


def _open_input(source):
    try:
        container = av.open(str(source) if isinstance(source, (str, Path)) else source)
        stream = container.streams.video[0]
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise VideoError(f"not a readable video: {exc}") from exc
    stream.thread_type = "AUTO"
    return container, stream


def process_video(source, out=None, csv_path=None, every: int = 1, predictor: Predictor | None = None,
                  settings: LiveSettings = LiveSettings(), progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None, on_rows: Callable[[list[dict]], None] | None = None
                  ) -> VideoSummary:
    """Analyse every `every`-th frame of a video (the frames between keep the last results on the annotated video).

    source and out are paths or binary file objects (so the app can work in memory, never on disk).
    progress(done, total) is called per frame (total is 0 when the container does not say); cancel() returning
    True stops early, keeping what was written so far."""
    every = max(1, int(every))
    container, stream = _open_input(source)
    fps = stream.average_rate or stream.guessed_rate or Fraction(30)
    width, height = stream.codec_context.width, stream.codec_context.height
    # A file is not real-time, so it gets the default (most accurate) model unless told otherwise.
    live = LiveAnalyzer(predictor or Predictor.load(), settings)
    outputs = _Outputs(out, csv_path, live.labels, fps, width, height, on_rows)
    started = time.perf_counter()
    index, results, face_ids, cancelled = 0, [], set(), False
    try:
        for frame in container.decode(stream):
            if cancel and cancel():
                cancelled = True
                break
            image = frame.to_ndarray(format="bgr24")
            time_s = float(frame.time) if frame.time is not None else index / float(fps)
            if index % every == 0:
                results = live.process(image, time_s)
                face_ids.update(r.face_id for r in results)
                context = {"frame": index, "time_s": round(time_s, 4)}
                outputs.rows(face_rows(results, live.labels, context, id_column="face_id"))
            outputs.frame(image, results)
            index += 1
            if progress:
                progress(index, stream.frames or 0)
    except av.FFmpegError as exc:
        raise VideoError(f"decoding failed at frame {index}: {exc}") from exc
    finally:
        outputs.close()
        container.close()
    return VideoSummary(index, float(fps), width, height, tuple(sorted(face_ids)), outputs.codec,
                        time.perf_counter() - started, cancelled)
