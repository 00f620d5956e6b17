"""YuNet-s (Wu, Peng and Yu 2023), a 232 KB CNN face detector, run by OpenCV's cv2.FaceDetectorYN.

The ONNX file ships in models/yunet/ with its Apache-2.0 LICENSE; README.md there names its source.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from fer_core.errors import ModelLoadError
from fer_core.inference.boxes import Box, Detection
from fer_core.runs.registry import MODELS_DIR

MODEL_FILE = MODELS_DIR / "yunet" / "yunet_s_640_640.onnx"
_local = threading.local()


def _load(model: Path, score_threshold: float) -> cv2.FaceDetectorYN:
    if not model.is_file():
        raise ModelLoadError(f"YuNet face detector not found: {model} (it ships in the repository's models/yunet/)")
    try:
        # OpenCV's own NMS at 0.3 IoU; boxes.suppress_duplicates also removes nested boxes afterwards.
        return cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_threshold, 0.3, 5000)
    except cv2.error as error:
        raise ModelLoadError(f"{model} is not a YuNet ONNX model OpenCV can run: {error.msg.strip()}") from None


def _detector(model: Path, score_threshold: float) -> cv2.FaceDetectorYN:
    # A FaceDetectorYN keeps its input size and buffers between calls, so each thread gets its own.
    cache = getattr(_local, "detectors", None)
    if cache is None:
        cache = _local.detectors = {}
    detector = cache.get(model)
    if detector is None:
        detector = cache[model] = _load(model, score_threshold)
    detector.setScoreThreshold(score_threshold)
    return detector


def detect_yunet(bgr: np.ndarray, score_threshold: float = 0.6, model: Path | None = None) -> list[Detection]:
    """Faces in a BGR uint8 image, in its pixels, with scores and five landmarks each (model: the shipped file)."""
    height, width = bgr.shape[:2]
    detector = _detector(Path(model or MODEL_FILE), score_threshold)
    detector.setInputSize((width, height))
    _, found = detector.detect(np.ascontiguousarray(bgr))
    detections = []
    for row in found if found is not None else []:
        if not np.isfinite(row).all():  # degenerate inputs (a one-pixel-high image) can give infinite boxes
            continue
        x, y, w, h = (int(round(v)) for v in row[:4])
        x0, y0 = max(0, x), max(0, y)
        box = Box(x0, y0, min(width, x + w) - x0, min(height, y + h) - y0)
        landmarks = tuple((float(row[4 + 2 * i]), float(row[5 + 2 * i])) for i in range(5))
        if box.w > 0 and box.h > 0:
            detections.append(Detection(box, float(row[14]), landmarks))
    return detections
