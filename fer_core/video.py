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

from .live import LiveAnalyzer, LiveSettings
from .pipeline import FaceResult, draw_results
from .predictor import Predictor

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


def _rows(index: int, time_s: float, results: list[FaceResult], labels) -> list[dict]:
    return [{"frame": index, "time_s": round(time_s, 4), "face_id": r.face_id, "x": r.box.x, "y": r.box.y,
             "w": r.box.w, "h": r.box.h, "emotion": r.emotion, "confidence": round(r.confidence, 4)}
            | {name: round(r.scores[name], 4) for name in labels} for r in results]


def process_video(source, out=None, csv_path=None, every: int = 1, predictor: Predictor | None = None,
                  settings: LiveSettings = LiveSettings(), progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None, on_rows: Callable[[list[dict]], None] | None = None
                  ) -> VideoSummary:
    """Analyse every `every`-th frame of a video (the frames between keep the last results on the annotated video).

    source and out are paths or binary file objects (so the app can work in memory, never on disk).
    progress(done, total) is called per frame (total is 0 when the container does not say); cancel() returning
    True stops early, keeping what was written so far."""
    every = max(1, int(every))
    try:
        container = av.open(str(source) if isinstance(source, (str, Path)) else source)
        stream = container.streams.video[0]
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise VideoError(f"not a readable video: {exc}") from exc
    stream.thread_type = "AUTO"
    fps = stream.average_rate or stream.guessed_rate or Fraction(30)
    width, height = stream.codec_context.width, stream.codec_context.height
    total = stream.frames or 0
    # A file is not real-time, so it gets the default (most accurate) model unless told otherwise.
    live = LiveAnalyzer(predictor or Predictor.load(), settings)
    labels = live.labels
    writer = csv_file = None
    if csv_path:
        csv_file = open(csv_path, "w", newline="")
        writer = csv.DictWriter(csv_file, CSV_FIELDS + list(labels))
        writer.writeheader()
    output = out_stream = codec = None
    even_w, even_h = width - width % 2, height - height % 2  # yuv420p needs even sides
    if out is not None:
        output, out_stream, codec = _open_output(out, fps, even_w, even_h)
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
                rows = _rows(index, time_s, results, labels)
                if writer:
                    writer.writerows(rows)
                if on_rows:
                    on_rows(rows)
            if output:
                annotated = np.ascontiguousarray(draw_results(image, results)[:even_h, :even_w])
                for packet in out_stream.encode(av.VideoFrame.from_ndarray(annotated, format="bgr24")):
                    output.mux(packet)
            index += 1
            if progress:
                progress(index, total)
    except av.FFmpegError as exc:
        raise VideoError(f"decoding failed at frame {index}: {exc}") from exc
    finally:
        if output:
            for packet in out_stream.encode():
                output.mux(packet)
            output.close()
        if csv_file:
            csv_file.close()
        container.close()
    return VideoSummary(index, float(fps), width, height, tuple(sorted(face_ids)), codec,
                        time.perf_counter() - started, cancelled)
