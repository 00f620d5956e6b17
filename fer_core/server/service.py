"""What a server process holds: the shipped models, loaded once, and a gate that bounds the analyses in flight."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fer_core.inference.detect import DetectorConfig
from fer_core.inference.files import ImageRecord
from fer_core.inference.imageio import decode_image
from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from fer_core.runs.registry import camera_model_path, default_model_path
from fer_core.server.config import ServerConfig
from fer_core.server.errors import ApiError

MODEL_ROLES = ("default", "camera")
RETRY_AFTER_SECONDS = 1


class Gate:
    """At most `slots` analyses at once; up to `queue_limit` more wait their turn, and any request beyond those is
    refused with 503 and Retry-After, so a burst costs bounded memory and interpreters (one per slot)."""

    def __init__(self, slots: int, queue_limit: int):
        self.slots, self.queue_limit = slots, queue_limit
        self._semaphore = asyncio.Semaphore(slots)
        self.waiting = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._semaphore.locked() and self.waiting >= self.queue_limit:
            raise ApiError(503, "busy", "the server is at capacity; retry shortly",
                           {"Retry-After": str(RETRY_AFTER_SECONDS)})
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()


class AnalysisService:
    """The default and camera models, each loaded once; analyze() runs one image through the same Analyzer as the
    `analyze` command."""

    def __init__(self, config: ServerConfig):
        self.config = config
        paths = {"default": config.default_model or default_model_path(),
                 "camera": config.camera_model or camera_model_path()}
        self.model_paths = {role: Path(path) for role, path in paths.items()}
        self.predictors = {role: Predictor.load(path) for role, path in self.model_paths.items()}

    def analyzer(self, model: str, detector: DetectorConfig, tta: str | None) -> Analyzer:
        return Analyzer(self.predictors[model], detector, tta)

    def analyze(self, name: str, data: bytes, analyzer: Analyzer) -> dict[str, Any]:
        """One upload's record, as `analyze --json` writes it, with the model, the TTA mode and the image size."""
        image = decode_image(data)
        record = ImageRecord(name, analyzer.analyze(image))
        return record.to_dict() | {"model": analyzer.predictor.name, "tta": analyzer.tta,
                                   "width": int(image.shape[1]), "height": int(image.shape[0])}

    def models(self) -> list[dict[str, Any]]:
        """Each served model: its role, name, classes, default TTA mode and scorecard (when one is beside it)."""
        return [{"role": role, "name": predictor.name, "labels": list(predictor.labels),
                 "tta_default": predictor.tta_default, "scorecard": _scorecard(self.model_paths[role])}
                for role, predictor in self.predictors.items()]


def _scorecard(model_path: Path) -> dict[str, Any] | None:
    """The headline figures of scorecard.json beside a model: each measure's accuracy (and the rest of its plain
    numbers), without per-class tables."""
    source = model_path.parent / "scorecard.json"
    if not source.is_file():
        return None
    card = json.loads(source.read_text())
    summary: dict[str, Any] = {key: card[key] for key in ("model", "tta", "split") if key in card}
    for key, value in card.items():
        if isinstance(value, dict):  # its numbers only: a measure's "source" is a folder on the server
            summary[key] = {k: v for k, v in value.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return summary


def detector_for(method: str | None, threshold: float | None, align: bool) -> DetectorConfig:
    """The detector a request asks for; anything left out keeps the library's default."""
    config = DetectorConfig() if method is None else DetectorConfig(method=method)
    if threshold is not None:
        config = replace(config, score_threshold=threshold)
    return replace(config, align=align)
