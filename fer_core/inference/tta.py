"""Test-time augmentation (TTA): the views of each face whose predicted probabilities are averaged.

Modes, cheapest first:
- "none": the face alone (1 pass);
- "mirror": the face and its mirror image (2 passes);
- "multi": the mirror pair, each also shifted 2 px left, right, up and down, zoomed to 0.95x and 1.05x and rotated
  by -5 and +5 degrees (18 passes). The grid sits at about half the range of the training augmentation
  (augment.augment_batch), so every view looks like faces the network was trained on.

Each mode's validation accuracy is recorded beside a trained model (fer_core.runs.folder.EVALUATION_FILES), and callers
that do not choose use the most accurate one, unless a cheaper one is within MIN_GAIN of it (best_tta_mode).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import cv2
import numpy as np

from fer_core.errors import UsageError

T = TypeVar("T", bound=Mapping[str, Any])

TTA_MODES = ("none", "mirror", "multi")
TTA_LABELS = {"none": "plain", "mirror": "mirror TTA", "multi": "multi-view TTA"}

# (dx px, dy px, zoom, degrees) applied to the face and to its mirror image.
MULTI_GRID = ((0, 0, 1.0, 0.0), (2, 0, 1.0, 0.0), (-2, 0, 1.0, 0.0), (0, 2, 1.0, 0.0), (0, -2, 1.0, 0.0),
              (0, 0, 0.95, 0.0), (0, 0, 1.05, 0.0), (0, 0, 1.0, -5.0), (0, 0, 1.0, 5.0))


def tta_mode(value: str | bool | np.bool_) -> str:
    """A TTA mode from a mode name or a bool (True: "mirror", False: "none", as the flag meant before "multi")."""
    if isinstance(value, (bool, np.bool_)):
        return "mirror" if value else "none"
    if value not in TTA_MODES:
        raise UsageError(f"unknown TTA mode {value!r}; choose from {', '.join(TTA_MODES)}")
    return value


def view_count(mode: str | bool) -> int:
    return {"none": 1, "mirror": 2, "multi": 2 * len(MULTI_GRID)}[tta_mode(mode)]


def _warp(faces: np.ndarray, dx: float, dy: float, zoom: float, degrees: float) -> np.ndarray:
    if (dx, dy, zoom, degrees) == (0, 0, 1.0, 0.0):
        return faces
    n, h, w, _ = faces.shape
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, zoom)
    matrix[:, 2] += np.array([dx, dy])
    out = np.empty_like(faces)
    for i in range(n):
        out[i, :, :, 0] = cv2.warpAffine(faces[i, :, :, 0], matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101)
    return out


def tta_views(faces: np.ndarray, mode: str | bool) -> np.ndarray:
    """float32 (N, H, W, 1) faces -> (view_count(mode), N, H, W, 1) views; view 0 is the faces themselves."""
    mode = tta_mode(mode)
    faces = np.ascontiguousarray(faces, dtype=np.float32)
    if mode == "none":
        return faces[None]
    mirrored = np.ascontiguousarray(faces[:, :, ::-1])
    if mode == "mirror":
        return np.stack([faces, mirrored])
    return np.stack([_warp(base, *step) for base in (faces, mirrored) for step in MULTI_GRID])


# A costlier mode must beat the cheaper one it would replace by more than this accuracy (0.3 points, about 11
# PublicTest faces): "multi" costs 9x "mirror", and a gain of a face or two is noise on one split.
MIN_GAIN = 0.003


def best_tta_mode(evaluations: Mapping[str, Mapping[str, Any] | None]) -> str:
    """The most accurate mode, where each costlier mode must beat the best cheaper one by more than MIN_GAIN;
    "none" unless the plain evaluation and at least one TTA evaluation are there to compare."""
    scores = {}
    for mode in TTA_MODES:
        evaluation = evaluations.get(mode)
        if evaluation is None:
            continue
        try:
            scores[mode] = float(evaluation["accuracy"])
        except (KeyError, TypeError, ValueError):
            continue
    if "none" not in scores:
        return "none"
    best = "none"
    for mode in TTA_MODES[1:]:
        if mode in scores and scores[mode] > scores[best] + MIN_GAIN:
            best = mode
    return best


def default_tta_mode(settings: Mapping[str, Any], evaluations: Mapping[str, Mapping[str, Any] | None]) -> str:
    """The mode a model runs by default: the one recorded when it was shipped (`ship --tta`), else best_tta_mode."""
    chosen = settings.get("tta_default")
    return tta_mode(chosen) if chosen else best_tta_mode(evaluations)


def default_evaluation(settings: Mapping[str, Any], evaluations: Mapping[str, T | None]) -> T | None:
    """The evaluation of the mode a model runs by default: the one PublicTest figure that its card, the app's pages
    and the explorer show for it."""
    return evaluations.get(default_tta_mode(settings, evaluations))
