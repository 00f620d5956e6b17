"""Reading a training run folder's fixed files (what the app's explorer and home page show)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from . import paths


@dataclass(frozen=True)
class RunFiles:
    """The files of one run; any of them may be missing (None / empty) in a run that is still training."""

    name: str
    folder: Path
    settings: dict
    history: list[dict]
    evaluation: dict | None
    evaluation_tta: dict | None
    evaluation_multi: dict | None = None
    scorecard: dict | None = None  # fer_core.scorecard: raw pixels, FER+ majority, end to end

    @property
    def evaluations(self) -> dict[str, dict]:
        """The evaluations present, by TTA mode ("none", "mirror", "multi"), cheapest first."""
        found = {"none": self.evaluation, "mirror": self.evaluation_tta, "multi": self.evaluation_multi}
        return {mode: evaluation for mode, evaluation in found.items() if evaluation}

    @property
    def model_path(self) -> Path:
        return self.folder / paths.MODEL_FILE


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def read_history(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) if v not in ("", None) else None for k, v in row.items()} for row in csv.DictReader(f)]


def read_run(folder) -> RunFiles:
    folder = Path(folder)
    return RunFiles(
        name=folder.name,
        folder=folder,
        settings=_json(folder / paths.SETTINGS_FILE) or {},
        history=read_history(folder / paths.HISTORY_FILE),
        evaluation=_json(folder / paths.EVALUATION_FILE),
        evaluation_tta=_json(folder / paths.EVALUATION_TTA_FILE),
        evaluation_multi=_json(folder / paths.EVALUATION_MULTI_FILE),
        scorecard=_json(folder / paths.SCORECARD_FILE),
    )


def member_runs(run: RunFiles) -> list[RunFiles]:
    """An ensemble's members, read from its members/ folder (empty for a single network)."""
    if run.settings.get("arch") != paths.ENSEMBLE_ARCH:
        return []
    return [read_run(run.folder / paths.MEMBERS_DIR / m["name"]) for m in run.settings.get("members", [])]
