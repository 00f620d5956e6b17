"""Training-time augmentation on uint8 (N, 48, 48) faces, in numpy/OpenCV so it runs under any Keras backend."""

from __future__ import annotations

import cv2
import numpy as np


def augment_batch(faces: np.ndarray, rng: np.random.Generator, max_rotation: float = 15.0,
                  max_scale: float = 0.15, max_shift: float = 0.1, erase_prob: float = 0.0) -> np.ndarray:
    """Random flip, rotation, zoom and shift (and optionally random erasing) of each face."""
    out = np.empty_like(faces)
    n, h, w = faces.shape
    center = (w / 2.0, h / 2.0)
    flips = rng.random(size=(n,)) < 0.5
    angles = rng.uniform(-max_rotation, max_rotation, size=(n,))
    scales = rng.uniform(1 - max_scale, 1 + max_scale, size=(n,))
    shifts = rng.uniform(-max_shift, max_shift, (n, 2)) * (w, h)
    for i in range(n):
        matrix = cv2.getRotationMatrix2D(center, angles[i], scales[i])
        matrix[:, 2] += shifts[i]
        face = faces[i, :, ::-1] if flips[i] else faces[i]
        out[i] = cv2.warpAffine(np.ascontiguousarray(face), matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101)
        if erase_prob and rng.random() < erase_prob:
            eh, ew = rng.integers(h // 8, h // 2, 2)
            y, x = rng.integers(0, h - eh), rng.integers(0, w - ew)
            out[i, y:y + eh, x:x + ew] = rng.integers(0, 256, (eh, ew), dtype=np.uint8)
    return out


def flip_batch(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirror a random half of the faces and leave the rest as they are (the mirror TTA's two views)."""
    flips = rng.random(len(faces)) < 0.5
    out = faces.copy()
    out[flips] = faces[flips, :, ::-1]
    return out
