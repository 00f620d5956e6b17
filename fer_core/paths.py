"""Where the shipped models live and which one is the default."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The repository's models/ folder. A library installed from a wheel has no such folder beside it: point
# $FER_MODELS_DIR at a checkout's models/ (read once, at import), or $FER_MODEL at one model file.
MODELS_DIR = Path(os.environ.get("FER_MODELS_DIR") or REPO_ROOT / "models")
DEFAULT_RUN = "ensemble_v2r3_wide_r1"
# The live camera classifies every face of every frame, so it may use a lighter network than photos, videos and
# evaluate; None means the default run.
LIVE_RUN: str | None = "vgg_fast_v2r3_swa_clean"

# Fixed file names inside every training run folder; the explorer page reads only these.
MODEL_FILE = "model.keras"
# What inference loads without TensorFlow: the model converted to TFLite, and what using it needs (labels, the
# default test-time augmentation, the hash of the .keras file it was converted from); written by ship.
TFLITE_FILE = "model.tflite"
INFERENCE_FILE = "inference.json"
SETTINGS_FILE = "settings.json"
HISTORY_FILE = "history.csv"
EVALUATION_FILE = "evaluation.json"
EVALUATION_TTA_FILE = "evaluation_tta.json"
EVALUATION_MULTI_FILE = "evaluation_multi.json"
# One evaluation per test-time augmentation mode (fer_core.tta); runs trained before "multi" existed lack that one.
EVALUATION_FILES = {"none": EVALUATION_FILE, "mirror": EVALUATION_TTA_FILE, "multi": EVALUATION_MULTI_FILE}
# What users see, measured by `evaluate --scorecard --save` (fer_core.scorecard): raw pixels, FER+ majority, end to end.
SCORECARD_FILE = "scorecard.json"
CHECKPOINT_DIR = "checkpoint"
# An ensemble folder (fer_core.ensemble) has settings["arch"] == ENSEMBLE_ARCH and its members' files in here.
ENSEMBLE_ARCH = "ensemble"
MEMBERS_DIR = "members"


def default_model_path() -> Path:
    """$FER_MODEL if set, else the shipped default run's model."""
    override = os.environ.get("FER_MODEL")
    return Path(override) if override else MODELS_DIR / DEFAULT_RUN / MODEL_FILE


def live_model_path() -> Path:
    """The camera's model: $FER_LIVE_MODEL, else $FER_MODEL (one override for both), else LIVE_RUN's model, else
    the default run's."""
    override = os.environ.get("FER_LIVE_MODEL") or os.environ.get("FER_MODEL")
    return Path(override) if override else MODELS_DIR / (LIVE_RUN or DEFAULT_RUN) / MODEL_FILE


def list_runs(models_dir: Path = MODELS_DIR) -> list[Path]:
    """Training run folders (those holding a settings file) under models_dir, by name."""
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if (p / SETTINGS_FILE).is_file())
