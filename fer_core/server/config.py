"""What the person starting the server decides: limits, concurrency and the models it serves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fer_core.inference.imageio import MAX_BYTES


@dataclass(frozen=True)
class ServerConfig:
    """max_upload_bytes: the most a request body may hold (a batch included), refused while it streams in;
    analysis_slots: analyses that run at once in this process; queue_limit: requests that may wait for a slot
    before the next one is answered 503; body_seconds: the most a client may take to send its body, and
    idle_body_seconds the longest pause between two of its chunks; max_batch: images per batch request.
    default_model and camera_model: .keras or .tflite files (None: the shipped ones)."""

    max_upload_bytes: int = 20 * 1024 * 1024
    analysis_slots: int = 2
    queue_limit: int = 16
    body_seconds: float = 30.0
    idle_body_seconds: float = 10.0
    max_batch: int = 16
    default_model: Path | None = None
    camera_model: Path | None = None

    def __post_init__(self) -> None:
        if not 0 < self.max_upload_bytes <= MAX_BYTES * self.max_batch:
            raise ValueError(f"max_upload_bytes must be in (0, {MAX_BYTES * self.max_batch}]")
        if not (0 < self.idle_body_seconds <= self.body_seconds):
            raise ValueError("body timeouts must be positive, the pause no longer than the whole")
        if self.analysis_slots < 1 or self.queue_limit < 0 or self.max_batch < 1:
            raise ValueError("analysis_slots and max_batch must be at least 1, queue_limit at least 0")
