"""A teacher's probabilities for every training face, computed once and cached beside the data under their hash.

The hash covers the teacher's model file, its test-time views and the faces themselves, so a changed teacher, a
changed view set or another face selection (a class subset, FER+'s exclusions, --limit) never reuses stale targets.
Where the data folder cannot be written to, the cache lives under ~/.cache/fer_core/teacher_targets.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input

CACHE_FOLDER = ".teacher_targets"
_CHUNK = 1024


def digest(teacher_file: Path, tta: str, images: np.ndarray) -> str:
    h = hashlib.sha256()
    with open(teacher_file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    h.update(tta.encode())
    h.update(str(images.shape).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()


def cache_folder(data: str) -> Path:
    """Beside the data (a dataset folder, or the folder holding fer2013.csv) when writable, else the user's cache."""
    root = Path(data)
    beside = (root if root.is_dir() else root.parent) / CACHE_FOLDER
    if os.access(beside if beside.is_dir() else beside.parent, os.W_OK):
        return beside
    return Path.home() / ".cache" / "fer_core" / "teacher_targets"


def teacher_targets(teacher: Predictor, teacher_file: str, tta: str, images: np.ndarray,
                    data: str) -> tuple[np.ndarray, str]:
    """(probabilities (N, classes) float32, their sha256): read from the cache, or predicted and stored there."""
    key = digest(Path(teacher_file), tta, images)
    folder = cache_folder(data)
    stored = folder / f"{key}.npy"
    if stored.is_file():
        targets = np.load(stored)
        if targets.shape == (len(images), len(teacher.labels)):
            return targets, key
    targets = np.concatenate([teacher.predict_proba(to_model_input(images[i:i + _CHUNK]), tta=tta)
                              for i in range(0, len(images), _CHUNK)]).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{key}.{os.getpid()}.npy"
    np.save(partial, targets)
    partial.replace(stored)  # whole or absent, even if two runs fill the cache at once
    return targets, key
