"""Haar-cascade face detection on a downscaled copy; boxes come back in original-image pixels."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from .preprocess import to_gray

CASCADE_FILE = "haarcascade_frontalface_default.xml"


class Box(NamedTuple):
    """A face box: x, y = top-left corner, w, h = size; integer pixels of the original image."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class DetectorConfig:
    # The photo defaults come from benchmarks/detection_sweep.py on the shared photos, scored against hand-checked
    # faces: 1.1 / 5 / 20 px found 104 of 115 true faces with 12 boxes on no face, where full-resolution Haar at
    # 1.1 / 5 / 30 px found 44 with the same 12 (at 1.5x its time); 1.15 was faster but lost faces, 4 neighbours
    # added false boxes.
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face: int = 20  # smallest face side, in pixels of the original image
    # Detect on a copy whose longer side is at most this (None: full size). 1280 keeps every face that
    # full-resolution Haar finds on the shared photos; 960 lost 12 of its 56 boxes.
    max_side: int | None = 1280
    margin: float = 0.0  # grow each box by this fraction of its size on every side, then clip to the image


_local = threading.local()


def _cascade() -> cv2.CascadeClassifier:
    # CascadeClassifier keeps per-call scratch state, so each thread gets its own instance.
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE_FILE)
        if cascade.empty():
            raise RuntimeError(f"OpenCV's {CASCADE_FILE} is missing; install opencv-python-headless<5")
        _local.cascade = cascade
    return cascade


def expand_box(box: Box, margin: float, width: int, height: int) -> Box:
    """Grow a box by margin * its size on each side and clip it to a width x height image."""
    dx, dy = int(round(box.w * margin)), int(round(box.h * margin))
    x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
    x1, y1 = min(width, box.x + box.w + dx), min(height, box.y + box.h + dy)
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def detect_faces(image: np.ndarray, config: DetectorConfig = DetectorConfig(), channel_order: str = "bgr") -> list[Box]:
    """Faces in a uint8 image (gray, BGR/RGB or with alpha), sorted left to right."""
    gray = to_gray(image, channel_order)
    height, width = gray.shape
    scale = 1.0
    if config.max_side and max(height, width) > config.max_side:
        scale = config.max_side / max(height, width)
        gray = cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    min_side = max(1, int(config.min_face * scale))
    found = _cascade().detectMultiScale(gray, scaleFactor=config.scale_factor, minNeighbors=config.min_neighbors,
                                        minSize=(min_side, min_side))
    boxes = []
    for x, y, w, h in (found if len(found) else []):
        box = Box(int(round(x / scale)), int(round(y / scale)), int(round(w / scale)), int(round(h / scale)))
        box = expand_box(box, config.margin, width, height)
        if box.w > 0 and box.h > 0:
            boxes.append(box)
    return sorted(boxes, key=lambda b: (b.x, b.y))
