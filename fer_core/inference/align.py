"""Faces warped to the pose FER2013's faces have in their frame, from YuNet's five landmarks.

The classifier learned from FER2013's 48x48 faces, where the eyes, nose and mouth sit at nearly fixed places.
`aligned_crop` finds the similarity (rotation, uniform scale, translation; no shear, no mirror) that best carries a
detection's landmarks onto FER2013_TEMPLATE and warps the face with it, so a tilted, small or off-centre face reaches
the model the way its training faces looked. A face whose landmarks do not fit a face (a poor fit, an implausible
size or angle, a centre outside its box) gets None, and `face_crop` falls back to the detector's box framing
(fer_core.inference.framing), as it does for detectors without landmarks (Haar).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np
from numpy.typing import ArrayLike

from fer_core.inference.boxes import Box, Detection
from fer_core.inference.framing import CROP_ZOOM, FaceFraming, crop_face

# FER2013's five landmarks (boxes.LANDMARK_NAMES order) in face units: (0, 0) is a 48x48 face's top-left corner and
# (1, 1) its bottom-right. The medians of YuNet's landmarks on FER2013's training faces, made left-right symmetric
# (`python -m benchmarks.fer2013_template`, benchmarks/results/fer2013_template.json).
FER2013_TEMPLATE = np.array([
    [0.3108, 0.3757],
    [0.6892, 0.3757],
    [0.5000, 0.5797],
    [0.3413, 0.7397],
    [0.6587, 0.7397],
])
# How much each landmark counts in the fit. The mouth's corners move with the expression (a smile widens them, a
# gasp drops them), so they count half: fully weighed, they would frame a face by its expression; left out, the
# fit rests on three points. Chosen among the three by `python -m benchmarks.crop_choice`.
LANDMARK_WEIGHTS = (1.0, 1.0, 1.0, 0.5, 0.5)
# Beyond these a detection's landmarks are not trusted (measured on FER2013 faces in scenes by
# benchmarks/alignment_check.py, where nearly every true face is far inside them).
MAX_MISFIT = 0.08  # root-mean-square distance of the fitted landmarks from the template, in face units
MAX_ANGLE = 60.0  # degrees of head roll
SIZE_TO_BOX = (0.6, 1.6)  # the aligned face's side over the box's longer side (FER2013 faces: about 1.0)
CROP_SIDE = (48, 256)  # the aligned crop keeps the face's own resolution within these bounds (pixels)


class Alignment(NamedTuple):
    """image_to_face: the 2x3 similarity from image pixels to face units; misfit: RMS landmark distance from the
    template after it, face units; angle: the face's roll in degrees; face_px: the face's side in image pixels."""

    image_to_face: np.ndarray
    misfit: float
    angle: float
    face_px: float


def fit_similarity(source: ArrayLike, target: ArrayLike, weights: Sequence[float] | None = None) -> np.ndarray:
    """The 2x3 similarity (no reflection) that carries source points onto target points with the least (weighted)
    squared error (the closed form of Umeyama 1991: as complex numbers, target = c * source + t)."""
    source, target = np.asarray(source, float), np.asarray(target, float)
    w = np.ones(len(source)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    source_mean, target_mean = w @ source, w @ target
    p, q = source - source_mean, target - target_mean
    zp, zq = p[:, 0] + 1j * p[:, 1], q[:, 0] + 1j * q[:, 1]
    c = np.sum(w * np.conj(zp) * zq) / max(float(np.sum(w * np.abs(zp) ** 2)), 1e-12)
    linear = np.array([[c.real, -c.imag], [c.imag, c.real]])
    offset = target_mean - linear @ source_mean
    return np.hstack([linear, offset[:, None]])


def alignment(landmarks: Sequence[tuple[float, float]], weights: Sequence[float] = LANDMARK_WEIGHTS) -> Alignment:
    """How five landmarks (image pixels, boxes.LANDMARK_NAMES order) sit against FER2013_TEMPLATE, fitted with these
    weights per landmark."""
    points = np.asarray(landmarks, float)
    w = np.asarray(weights, float) / np.sum(weights)
    matrix = fit_similarity(points, FER2013_TEMPLATE, w)
    fitted = points @ matrix[:, :2].T + matrix[:, 2]
    misfit = float(np.sqrt(w @ np.sum((fitted - FER2013_TEMPLATE) ** 2, axis=1)))
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    # The face's roll, counter-clockwise as the image shows it (y points down): the turn the warp undoes.
    angle = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    return Alignment(matrix, misfit, angle, 1.0 / max(scale, 1e-12))


def plausible(fit: Alignment, box: Box) -> bool:
    """Whether landmarks describe the face in the box: a good fit, a sane roll and size, its centre in the box."""
    if not (np.isfinite(fit.image_to_face).all() and fit.misfit <= MAX_MISFIT and abs(fit.angle) <= MAX_ANGLE):
        return False
    if not SIZE_TO_BOX[0] <= fit.face_px / max(box.w, box.h, 1) <= SIZE_TO_BOX[1]:
        return False
    linear, offset = fit.image_to_face[:, :2], fit.image_to_face[:, 2]
    cx, cy = np.linalg.solve(linear, np.array([0.5, 0.5]) - offset)
    return bool(box.x <= cx <= box.x + box.w and box.y <= cy <= box.y + box.h)


def warp_to_face(image: np.ndarray, image_to_face: np.ndarray, side: int) -> np.ndarray:
    """The face frame (the unit square of face units) as a side x side crop; outside the image, its edge repeats."""
    return cv2.warpAffine(image, image_to_face * side, (side, side), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def zoomed(image_to_face: np.ndarray, zoom: float) -> np.ndarray:
    """The same alignment with the face shown `zoom` times larger about the frame's centre."""
    out = image_to_face * zoom
    out[:, 2] += 0.5 - 0.5 * zoom
    return out


def aligned_crop(image: np.ndarray, detection: Detection, zoom: float = CROP_ZOOM,
                 weights: Sequence[float] = LANDMARK_WEIGHTS) -> np.ndarray | None:
    """The face warped to FER2013's pose, shown `zoom` times larger than FER2013's median face (framing.CROP_ZOOM),
    at about its own resolution; None when its landmarks are missing or implausible."""
    if detection.landmarks is None:
        return None
    fit = alignment(detection.landmarks, weights)
    if not plausible(fit, detection.box):
        return None
    side = int(min(max(round(fit.face_px / zoom), CROP_SIDE[0]), CROP_SIDE[1]))
    return warp_to_face(image, zoomed(fit.image_to_face, zoom), side)


def face_crop(image: np.ndarray, face: Detection | Box, framing: FaceFraming, align: bool = True) -> np.ndarray:
    """The crop the classifier sees for one face: aligned from its landmarks when it has plausible ones (and align is
    on), else framed from its box."""
    if align and isinstance(face, Detection):
        crop = aligned_crop(image, face)
        if crop is not None:
            return crop
    return crop_face(image, face, framing)
