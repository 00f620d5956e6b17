"""Turning a finished training run into a shipped model folder: the run's fixed files, its best model saved without
the optimizer state (inference never reads it, and it is two thirds of the file), and a fresh model card."""

from __future__ import annotations

import shutil
from pathlib import Path

import keras

from . import paths
from .card import write_model_card

COPIED_FILES = (paths.SETTINGS_FILE, paths.HISTORY_FILE, paths.EVALUATION_FILE, paths.EVALUATION_TTA_FILE)


def ship_run(run_dir, dest) -> Path:
    """Write run_dir's model and files into dest (e.g. models/<name>); returns dest."""
    run_dir, dest = Path(run_dir), Path(dest)
    missing = [name for name in (paths.MODEL_FILE, *COPIED_FILES) if not (run_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{run_dir} is not a finished run: missing {', '.join(missing)}")
    if dest.resolve() == run_dir.resolve():
        raise ValueError("ship a run into a different folder than its own")
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED_FILES:
        shutil.copy2(run_dir / name, dest / name)
    # An uncompiled model has no optimizer, so nothing but the layers and weights is saved.
    keras.models.load_model(run_dir / paths.MODEL_FILE, compile=False).save(dest / paths.MODEL_FILE)
    write_model_card(dest)
    return dest
