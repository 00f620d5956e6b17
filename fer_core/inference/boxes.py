"""Face boxes and detections as plain data, and the overlap rules that remove duplicate boxes.

Units, once for the package: integer pixels of the original image; a box is (x, y) = its top-left corner and
(w, h) = its size; landmarks are (x, y) float pixels of the same image.
"""

from __future__ import annotations

from typing import NamedTuple

# YuNet's five landmarks, in its order. "right" is the person's right: on the left of an unmirrored image.
LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "right_mouth_corner", "left_mouth_corner")


class Box(NamedTuple):
    """A face box: x, y = top-left corner, w, h = size; integer pixels of the original image."""

    x: int
    y: int
    w: int
    h: int


class Detection(NamedTuple):
    """One detected face: its box, the detector's confidence and, from YuNet, five landmarks (LANDMARK_NAMES).

    score: YuNet's face score in [0, 1]; for Haar, the number of neighbouring raw detections that agreed."""

    box: Box
    score: float
    landmarks: tuple[tuple[float, float], ...] | None = None


def _intersection(a: Box, b: Box) -> int:
    iw = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    ih = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return iw * ih


def iou(a: Box, b: Box) -> float:
    inter = _intersection(a, b)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def containment(a: Box, b: Box) -> float:
    """The share of the smaller box that lies inside the other: 1.0 for a box nested in another."""
    smaller = min(a.w * a.h, b.w * b.h)
    return _intersection(a, b) / smaller if smaller > 0 else 0.0


def suppress_duplicates(detections: list[Detection], max_iou: float = 0.3,
                        max_containment: float = 0.6) -> list[Detection]:
    """Greedy non-maximum suppression: the best-scored detection of each group of overlapping ones survives.

    Two boxes overlap when their IoU exceeds max_iou, or when more than max_containment of the smaller one lies
    inside the other: a box nested in a larger one on the same face has a small IoU but is still a duplicate."""
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: (-d.score, -d.box.w * d.box.h)):
        if all(iou(candidate.box, k.box) <= max_iou and containment(candidate.box, k.box) <= max_containment
               for k in kept):
            kept.append(candidate)
    return kept


def _centre_inside(a: Box, b: Box) -> bool:
    cx, cy = a.x + a.w / 2, a.y + a.h / 2
    return b.x <= cx <= b.x + b.w and b.y <= cy <= b.y + b.h


def same_face(a: Box, b: Box, min_iou: float = 0.3) -> bool:
    """Whether two boxes from different detectors or hands mark one face: IoU of at least min_iou, or each box's
    centre inside the other (a tall YuNet box and a square Haar box on one face can overlap less than that)."""
    return iou(a, b) >= min_iou or (_centre_inside(a, b) and _centre_inside(b, a))
