"""From a detection to the face crop the classifier sees, framed like FER2013's faces.

Each detector draws its box differently (Haar: a square from brows to chin; YuNet: taller, forehead to chin), so
each has its own calibrated framing (detect.DEFAULT_FRAMING, measured end to end by benchmarks/framing_sweep.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fer_core.inference.boxes import Box, Detection


@dataclass(frozen=True)
class FaceFraming:
    """square: crop a square of the box's longer side (else the box's own shape, stretched to square later);
    scale: the crop's side as a multiple of that (1.2 adds 10% of context on every side);
    shift_y: move the crop's centre down by this fraction of the box height (negative: up);
    level_eyes: rotate about the crop's centre so the eyes are level (needs landmarks; ignored without them)."""

    square: bool = False
    scale: float = 1.0
    shift_y: float = 0.0
    level_eyes: bool = False


def eye_angle(landmarks) -> float:
    """Degrees the line from the right eye to the left eye (as the image shows them) rises against the x axis."""
    (rx, ry), (lx, ly) = landmarks[0], landmarks[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_face(image: np.ndarray, face: Detection | Box, framing: FaceFraming = FaceFraming()) -> np.ndarray:
    """The framed crop of one face, at the image's own resolution; parts outside the image repeat its edge."""
    detection = face if isinstance(face, Detection) else Detection(Box(*face), 0.0)
    x, y, w, h = detection.box
    width, height = (max(w, h), max(w, h)) if framing.square else (w, h)
    width, height = max(1, round(width * framing.scale)), max(1, round(height * framing.scale))
    cx, cy = x + w / 2, y + h / 2 + framing.shift_y * h
    angle = eye_angle(detection.landmarks) if framing.level_eyes and detection.landmarks else 0.0
    x0, y0 = round(cx - width / 2), round(cy - height / 2)
    if angle == 0.0 and x0 >= 0 and y0 >= 0 and x0 + width <= image.shape[1] and y0 + height <= image.shape[0]:
        return image[y0:y0 + height, x0:x0 + width]
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[:, 2] += (width / 2 - cx, height / 2 - cy)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

