"""Cached, app-wide resources shared by the pages (loaded once per server process)."""

from __future__ import annotations

import streamlit as st

from fer_core import Analyzer, ModelLoadError, Predictor
from fer_core.paths import default_model_path
from fer_core.runs import read_run


@st.cache_resource(show_spinner="Loading the emotion model…")
def _load_predictor(path: str) -> Predictor:
    # Predictor is safe to share between sessions: inference is a stateless compiled function.
    return Predictor.load(path)


def load_default_analyzer() -> tuple[Analyzer | None, str | None]:
    """(analyzer, None) or (None, a one-line reason) when the model is missing or unreadable."""
    try:
        return Analyzer(_load_predictor(str(default_model_path()))), None
    except ModelLoadError as exc:
        return None, str(exc)


def model_summary() -> str:
    path = default_model_path()
    run = read_run(path.parent)
    lines = [f"**{run.name}** (`{path}`)"]
    if run.settings:
        lines.append(f"- architecture: {run.settings.get('arch')}, {run.settings.get('parameters', 0):,} parameters, "
                     f"{len(run.history)} epochs")
    if run.evaluation:
        lines.append(f"- PublicTest accuracy: {run.evaluation['accuracy']:.1%}, "
                     f"macro-F1 {run.evaluation['macro_f1']:.3f} ({run.evaluation['n']:,} faces)")
    return "\n".join(lines)
