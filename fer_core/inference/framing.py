"""From a detection to the face crop the classifier sees, framed like FER2013's faces.

Each detector draws its box differently (Haar: a square from brows to chin; YuNet: taller, forehead to chin), so
each has its own framing (detect.DEFAULT_FRAMING, measured on FER2013's own faces by benchmarks/fer2013_template.py).
Faces with landmarks are aligned instead (fer_core.inference.align).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from fer_core.inference.boxes import Box, Detection

# How much larger than FER2013's median face fills its 48x48 frame the classifier's crop shows a face, for box
# framings and aligned crops alike: the middle of the plateau of zooms that score best on the mean of three
# measures of what users see (`python -m benchmarks.crop_choice`, experiments/face_alignment/README.md).
CROP_ZOOM = 1.25


@dataclass(frozen=True)
class FaceFraming:
    """square: crop a square of the box's longer side (else the box's own shape, stretched to square later);
    scale: the crop's side as a multiple of that (1.2 adds 10% of context on every side);
    shift_y: move the crop's centre down by this fraction of the box height (negative: up);
    shift_x: move it right by this fraction of the box width (negative: left);
    level_eyes: rotate about the crop's centre so the eyes are level (needs landmarks; ignored without them)."""

    square: bool = False
    scale: float = 1.0
    shift_y: float = 0.0
    level_eyes: bool = False
    shift_x: float = 0.0


def zoomed_framing(framing: FaceFraming, zoom: float) -> FaceFraming:
    """The same framing showing the face `zoom` times larger (a crop 1/zoom the side, about the same centre)."""
    return replace(framing, scale=framing.scale / zoom)


def eye_angle(landmarks: Sequence[tuple[float, float]]) -> float:
    """Degrees the line from the right eye to the left eye (as the image shows them) rises against the x axis."""
    (rx, ry), (lx, ly) = landmarks[0], landmarks[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_face(image: np.ndarray, face: Detection | Box, framing: FaceFraming = FaceFraming()) -> np.ndarray:
    """The framed crop of one face, at the image's own resolution; parts outside the image repeat its edge."""
    detection = face if isinstance(face, Detection) else Detection(Box(*face), 0.0)
    x, y, w, h = detection.box
    width, height = (max(w, h), max(w, h)) if framing.square else (w, h)
    width, height = max(1, round(width * framing.scale)), max(1, round(height * framing.scale))
    cx, cy = x + w / 2 + framing.shift_x * w, y + h / 2 + framing.shift_y * h
    angle = eye_angle(detection.landmarks) if framing.level_eyes and detection.landmarks else 0.0
    x0, y0 = round(cx - width / 2), round(cy - height / 2)
    if angle == 0.0 and x0 >= 0 and y0 >= 0 and x0 + width <= image.shape[1] and y0 + height <= image.shape[0]:
        return image[y0:y0 + height, x0:x0 + width]
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[:, 2] += np.array([width / 2 - cx, height / 2 - cy])
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

