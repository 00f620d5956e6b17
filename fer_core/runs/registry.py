"""The registry of shipped models: where they live and which one each part of the product uses."""

from __future__ import annotations

import os
from pathlib import Path

from fer_core.runs.folder import MODEL_FILE, list_runs

REPO_ROOT = Path(__file__).resolve().parents[2]
# The repository's models/ folder holds exactly what the app ships. A library installed from a wheel has no such
# folder beside it: point $FER_MODELS_DIR at a checkout's models/ (read once, at import), or $FER_MODEL at one model.
MODELS_DIR = Path(os.environ.get("FER_MODELS_DIR") or REPO_ROOT / "models")
# Records of other training runs (settings, history, evaluations, cards; no weights), for the explorer's comparison.
EXPERIMENTS_DIR = REPO_ROOT / "experiments"

# Photos, videos and `evaluate` use the default model. Its card names the experiment it came from.
DEFAULT_MODEL = "fer-default-1.3"
# The live camera classifies every face of every frame, so it runs a lighter network; None means the default model.
CAMERA_MODEL: str | None = "fer-camera-1.2"


def default_model_path() -> Path:
    """$FER_MODEL if set, else the shipped default model."""
    override = os.environ.get("FER_MODEL")
    return Path(override) if override else MODELS_DIR / DEFAULT_MODEL / MODEL_FILE


def camera_model_path() -> Path:
    """The camera's model: $FER_LIVE_MODEL, else $FER_MODEL (one override for both), else CAMERA_MODEL, else the
    default model."""
    override = os.environ.get("FER_LIVE_MODEL") or os.environ.get("FER_MODEL")
    return Path(override) if override else MODELS_DIR / (CAMERA_MODEL or DEFAULT_MODEL) / MODEL_FILE


def shipped_runs() -> list[Path]:
    """The shipped models' run folders, the default first."""
    return sorted(list_runs(MODELS_DIR), key=lambda folder: folder.name != DEFAULT_MODEL)


def known_runs() -> list[Path]:
    """Every run the explorer can compare: the shipped models, then the experiments' records."""
    return shipped_runs() + list_runs(EXPERIMENTS_DIR)


def server_runs() -> list[Path]:
    """The training runs in the folders of $FER_RUNS_DIR (separated like PATH), which the server's operator names;
    none when unset. The app offers these and never a folder that a browser names, since it loads the models it
    finds."""
    folders = [Path(part) for part in os.environ.get("FER_RUNS_DIR", "").split(os.pathsep) if part]
    return [run for folder in folders for run in list_runs(folder)]
