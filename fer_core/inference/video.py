"""Video files: decode with PyAV, run the camera's tracked and smoothed pipeline, write an annotated video and a
per-frame CSV. Audio is dropped; frame rate and size are kept."""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, cast

import av
import numpy as np
from av.video.stream import VideoStream

from fer_core.errors import FerError, MissingInputError, UsageError
from fer_core.inference.draw import draw_results
from fer_core.inference.live import LiveAnalyzer, LiveSettings
from fer_core.inference.outputs import atomic_output, check_inputs_survive, unique_name
from fer_core.inference.pipeline import FaceResult
from fer_core.inference.predictor import Predictor
from fer_core.inference.rows import FACE_COLUMNS, face_rows

# H.264 in MP4 plays in every browser; PyAV's wheels ship libx264. MPEG-4 Part 2 is the fallback where it is missing.
CODECS = ("libx264", "mpeg4")
# A video's source or destination: a path, or a binary file object (the app works in memory, never on disk).
Media = str | os.PathLike[str] | IO[bytes]
Rows = list[dict[str, Any]]
CSV_FIELDS = ["frame", "time_s", "face_id", *FACE_COLUMNS[1:]]


# What a video may hold, read from its stream's metadata before any frame is decoded, and checked again as frames
# arrive (metadata can lie): 4K, an hour, and an hour's frames at 60 frames/s. Smaller than a face: refused.
MAX_VIDEO_PIXELS = 3840 * 2160
MAX_VIDEO_SECONDS = 3600.0
MAX_VIDEO_FRAMES = 216_000
MIN_VIDEO_SIDE = 16


class VideoError(FerError, RuntimeError):
    """The input is not a readable video."""


class VideoLimitError(VideoError):
    """A video larger, longer or smaller than the limits allow."""


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


def _open_output(target: Media, fps: Fraction, width: int, height: int) -> tuple[Any, VideoStream, str]:
    """target: a path, or a seekable binary file object (e.g. io.BytesIO) that receives MP4 bytes."""
    if isinstance(target, (str, os.PathLike)):
        container = av.open(os.fspath(target), mode="w")
    else:
        container = av.open(target, mode="w", format="mp4")
    for name in CODECS:
        try:
            stream = cast(VideoStream, container.add_stream(name, rate=fps))
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

    def __init__(self, out: Media | None, csv_path: str | os.PathLike[str] | None, labels: Sequence[str],
                 fps: Fraction, width: int, height: int, on_rows: Callable[[Rows], None] | None):
        self.even_w, self.even_h = width - width % 2, height - height % 2
        self.video: Any = None
        self.stream: VideoStream | None = None
        self.codec: str | None = None
        self.csv_file: IO[str] | None = None
        self.writer: csv.DictWriter[str] | None = None
        self.on_rows = on_rows
        if csv_path:
            self.csv_file = open(csv_path, "w", newline="")
            self.writer = csv.DictWriter(self.csv_file, CSV_FIELDS + list(labels))
            self.writer.writeheader()
        if out is not None:
            self.video, self.stream, self.codec = _open_output(out, fps, self.even_w, self.even_h)

    def rows(self, rows: Rows) -> None:
        if self.writer:
            self.writer.writerows(rows)
        if self.on_rows:
            self.on_rows(rows)

    def frame(self, image: np.ndarray, results: list[FaceResult]) -> None:
        if self.video and self.stream:
            annotated = np.ascontiguousarray(draw_results(image, results)[:self.even_h, :self.even_w])
            for packet in self.stream.encode(av.VideoFrame.from_ndarray(annotated, format="bgr24")):
                self.video.mux(packet)

    def close(self) -> None:
        if self.video and self.stream:
            for packet in self.stream.encode():
                self.video.mux(packet)
            self.video.close()
        if self.csv_file:
            self.csv_file.close()


def _open_input(source: Media) -> tuple[Any, VideoStream]:
    try:
        container = av.open(os.fspath(source) if isinstance(source, (str, os.PathLike)) else source)
        stream: VideoStream = container.streams.video[0]
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise VideoError(f"not a readable video: {exc}") from exc
    try:
        check_video_limits(stream.codec_context.width, stream.codec_context.height, _duration(container, stream),
                           stream.frames or 0)
    except VideoError:
        container.close()
        raise
    stream.thread_type = "AUTO"
    return container, stream


def _duration(container: Any, stream: VideoStream) -> float:
    """Seconds, from the stream's metadata or else the container's (0 when neither says)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return float(container.duration or 0) / av.time_base


def check_video_limits(width: int, height: int, seconds: float = 0.0, frames: int = 0) -> None:
    if width * height > MAX_VIDEO_PIXELS:
        raise VideoLimitError(f"video is {width}x{height}; the limit is {MAX_VIDEO_PIXELS:,} pixels a frame")
    if min(width, height) < MIN_VIDEO_SIDE:
        raise VideoLimitError(f"video is {width}x{height}; frames need at least {MIN_VIDEO_SIDE} pixels a side")
    if seconds > MAX_VIDEO_SECONDS:
        raise VideoLimitError(f"video lasts {seconds:,.0f} s; the limit is {MAX_VIDEO_SECONDS:,.0f} s")
    if frames > MAX_VIDEO_FRAMES:
        raise VideoLimitError(f"video has {frames:,} frames; the limit is {MAX_VIDEO_FRAMES:,}")


def _check_frame(frame: av.VideoFrame, index: int, width: int, height: int) -> None:
    """Metadata can lie: each frame is held to the size its stream declared and to the frame limit."""
    if (frame.width, frame.height) != (width, height) or index >= MAX_VIDEO_FRAMES:
        check_video_limits(frame.width, frame.height, frames=index + 1)
        if (frame.width, frame.height) != (width, height):
            raise VideoError(f"frame {index} is {frame.width}x{frame.height}, the video {width}x{height}")


def _close(container: Any, outputs: _Outputs) -> None:
    """Close the input, then flush and close the outputs; a failure of the encoder's last packets is a VideoError,
    unless another error is already on its way out, which it must not mask."""
    container.close()
    try:
        outputs.close()
    except (av.FFmpegError, ValueError, IndexError) as exc:
        if exc.__context__ is None:  # else raised while another error propagates, which goes on instead
            raise VideoError(f"writing the annotated video failed: {exc}") from exc


def process_video(source: Media, out: Media | None = None, csv_path: str | os.PathLike[str] | None = None,
                  every: int = 1, predictor: Predictor | None = None,
                  settings: LiveSettings = LiveSettings(), progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None, on_rows: Callable[[Rows], None] | None = None
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
    index, cancelled = 0, False
    results: list[FaceResult] = []
    face_ids: set[int] = set()
    try:
        for frame in container.decode(stream):
            if cancel and cancel():
                cancelled = True
                break
            _check_frame(frame, index, width, height)
            image = frame.to_ndarray(format="bgr24")
            time_s = float(frame.time) if frame.time is not None else index / float(fps)
            if index % every == 0:
                results = live.process(image, time_s)
                face_ids.update(r.face_id for r in results if r.face_id is not None)
                context = {"frame": index, "time_s": round(time_s, 4)}
                outputs.rows(face_rows(results, live.labels, context, id_column="face_id"))
            outputs.frame(image, results)
            index += 1
            if progress:
                progress(index, stream.frames or 0)
    except av.FFmpegError as exc:
        raise VideoError(f"decoding failed at frame {index}: {exc}") from exc
    finally:
        _close(container, outputs)
    return VideoSummary(index, float(fps), width, height, tuple(sorted(face_ids)), outputs.codec,
                        time.perf_counter() - started, cancelled)


@dataclass(frozen=True)
class VideoJob:
    """One video and the files it becomes (either may be None, not both)."""

    input: str
    out: str | None
    csv: str | None


def video_jobs(inputs: Sequence[str], out: str | None = None, csv_path: str | None = None,
               out_dir: str | None = None) -> list[VideoJob]:
    """The `video` command's work: one input to --out/--csv, or any number into --out-dir as <stem>.mp4/.csv."""
    missing = [path for path in inputs if not Path(path).is_file()]
    if missing:
        raise MissingInputError(f"no video at {missing[0]}")
    if out_dir:
        if out or csv_path:
            raise UsageError("give --out-dir, or --out and/or --csv for a single input")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        used: set[str] = set()
        names = [unique_name(Path(path).stem, used) for path in inputs]
        jobs = [VideoJob(str(path), str(Path(out_dir) / f"{name}.mp4"), str(Path(out_dir) / f"{name}.csv"))
                for path, name in zip(inputs, names, strict=True)]
    elif len(inputs) != 1:
        raise UsageError("several inputs need --out-dir")
    elif not out and not csv_path:
        raise UsageError("give --out and/or --csv (or --out-dir)")
    else:
        jobs = [VideoJob(str(inputs[0]), out, csv_path)]
    check_inputs_survive(inputs, [path for job in jobs for path in (job.out, job.csv)])
    return jobs


def run_video_job(job: VideoJob, every: int = 1, model: str | os.PathLike[str] | None = None,
                  detector_overrides: dict[str, Any] | None = None,
                  progress: Callable[[int, int], None] | None = None, predictor: Predictor | None = None
                  ) -> VideoSummary:
    """One video into its files, each written whole or not at all (an interrupted run leaves none behind)."""
    from dataclasses import replace

    from fer_core.inference.live import LIVE_DETECTOR

    settings = LiveSettings(detector=replace(LIVE_DETECTOR, **(detector_overrides or {})))
    with ExitStack() as outputs:
        out, csv_path = (outputs.enter_context(atomic_output(target)) if target else None
                         for target in (job.out, job.csv))
        return process_video(job.input, out, csv_path, every, predictor or Predictor.load(model), settings,
                             progress=progress)
