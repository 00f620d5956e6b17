"""The run-folder format: the fixed files every training run writes, and reading them back.

The explorer page, the model cards, `ship` and `ensemble` read a run only through these names.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL_FILE = "model.keras"  # the best epoch on validation
# What inference loads without TensorFlow: the model converted to TFLite, and what using it needs (labels, the
# default test-time augmentation, the hash of the .keras file it was converted from); written by `ship`.
TFLITE_FILE = "model.tflite"
INFERENCE_FILE = "inference.json"
SETTINGS_FILE = "settings.json"
HISTORY_FILE = "history.csv"
CARD_FILE = "model_card.md"
# One evaluation per test-time augmentation mode (fer_core.inference.tta), named after the mode; runs trained before
# the multi-view mode existed lack that one.
EVALUATION_FILES = {"none": "evaluation.json", "mirror": "evaluation_mirror.json", "multi": "evaluation_multi.json"}
# What users see, measured by `evaluate --scorecard --save` (fer_core.training.scorecard): raw pixels, FER+ majority,
# end to end.
SCORECARD_FILE = "scorecard.json"
CHECKPOINT_DIR = "checkpoint"  # the last epoch with its optimizer state, for --resume
# An ensemble folder (fer_core.training.ensemble) has settings["arch"] == ENSEMBLE_ARCH and its members' records in
# MEMBERS_DIR.
ENSEMBLE_ARCH = "ensemble"
MEMBERS_DIR = "members"


@dataclass(frozen=True)
class RunFiles:
    """The files of one run; any of them may be missing (None / empty) in a run that is still training."""

    name: str
    folder: Path
    settings: dict[str, Any]
    history: list[dict[str, float | None]]
    # Evaluations present, by test-time augmentation mode ("none", "mirror", "multi"), cheapest first.
    evaluations: dict[str, dict[str, Any]] = field(default_factory=dict)
    scorecard: dict[str, Any] | None = None  # fer_core.training.scorecard: raw pixels, FER+ majority, end to end

    @property
    def evaluation(self) -> dict[str, Any] | None:
        """The plain (one view per face) evaluation."""
        return self.evaluations.get("none")

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def is_ensemble(self) -> bool:
        return self.settings.get("arch") == ENSEMBLE_ARCH


def _json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    found: dict[str, Any] = json.loads(path.read_text())
    return found


def read_history(path: Path) -> list[dict[str, float | None]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) if v not in ("", None) else None for k, v in row.items()} for row in csv.DictReader(f)]


def read_run(folder: str | os.PathLike[str]) -> RunFiles:
    folder = Path(folder)
    found = {mode: _json(folder / name) for mode, name in EVALUATION_FILES.items()}
    return RunFiles(
        name=folder.name,
        folder=folder,
        settings=_json(folder / SETTINGS_FILE) or {},
        history=read_history(folder / HISTORY_FILE),
        evaluations={mode: evaluation for mode, evaluation in found.items() if evaluation},
        scorecard=_json(folder / SCORECARD_FILE),
    )


def member_runs(run: RunFiles) -> list[RunFiles]:
    """An ensemble's members, read from its members/ folder (empty for a single network)."""
    if not run.is_ensemble:
        return []
    return [read_run(run.folder / MEMBERS_DIR / m["name"]) for m in run.settings.get("members", [])]


def list_runs(folder: Path) -> list[Path]:
    """Training run folders (those holding a settings file) directly under folder, by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / SETTINGS_FILE).is_file())


def targets_line(settings: dict[str, Any]) -> str:
    """What a run's network learned from, in words: the same in its model card and in the explorer."""
    if settings.get("ferplus"):
        return f"FER+ votes, W = {settings.get('ferplus_weight')}"
    return "FER2013's labels"


def architecture_line(run: RunFiles) -> str:
    """A run's network in words: the same in its model card, on the home page and in the explorer."""
    settings, members = run.settings, member_runs(run)
    if not members:
        return f"{settings.get('arch')}, {settings.get('parameters', 0):,} parameters, {len(run.history)} epochs"
    named = [f"{m.name} ({m.settings.get('arch')})" for m in members]
    names = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return (f"ensemble, the mean of {len(members)} networks' probabilities ({names}), "
            f"{settings.get('parameters', 0):,} parameters in all")
