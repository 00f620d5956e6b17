"""Training-time augmentation on uint8 (N, 48, 48) faces, and mixing of model-input batches with their targets, in
numpy/OpenCV so it runs under any Keras backend."""

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


def mix_batch(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, mixup_alpha: float = 0.0,
              cutmix_prob: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mixup (Zhang et al. 2018) or CutMix (Yun et al. 2019) within a batch.

    x: model input (N, H, W, C); y: target distributions (N, classes). Each face is paired with another face of the
    batch. With probability `cutmix_prob` the whole batch gets CutMix: a box of a random share of the face is pasted
    from its partner, and the target takes the partner's share by area. Otherwise, with `mixup_alpha` > 0, each face
    is blended with its partner by a weight drawn from Beta(alpha, alpha), folded so that the face keeps the larger
    share, and its target is blended by the same weight. Targets stay distributions."""
    n, h, w = x.shape[:3]
    use_cutmix = cutmix_prob > 0 and rng.random() < cutmix_prob
    if n < 2 or not (use_cutmix or mixup_alpha > 0):
        return x, y
    partner = rng.permutation(n)
    if use_cutmix:
        side = np.sqrt(1.0 - rng.uniform())
        box_h, box_w = int(round(h * side)), int(round(w * side))
        top, left = rng.integers(0, h - box_h + 1), rng.integers(0, w - box_w + 1)
        mixed = x.copy()
        mixed[:, top:top + box_h, left:left + box_w] = x[partner, top:top + box_h, left:left + box_w]
        pasted = box_h * box_w / (h * w)
        return mixed, (1.0 - pasted) * y + pasted * y[partner]
    share = np.asarray(rng.beta(mixup_alpha, mixup_alpha, size=n), dtype=x.dtype)
    share = np.maximum(share, 1 - share)
    weights = share.reshape((n,) + (1,) * (x.ndim - 1))
    mixed_y = share[:, None] * y + (1 - share[:, None]) * y[partner]
    return weights * x + (1 - weights) * x[partner], mixed_y.astype(y.dtype)
