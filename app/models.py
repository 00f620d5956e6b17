"""The emotion models, loaded once per server process and shared by every session."""

from __future__ import annotations

import streamlit as st

from fer_core import Analyzer, ModelLoadError, Predictor
from fer_core.runs.registry import camera_model_path, default_model_path


@st.cache_resource(show_spinner="Loading the emotion model…")
def load_predictor(path: str) -> Predictor:
    # Predictor is safe to share between sessions: each call takes an interpreter of its own from a pool (see
    # fer_core.inference.tflite). A shipped model runs from its converted file, so the server loads no TensorFlow
    # until a user asks for a Grad-CAM explanation.
    return Predictor.load(path)


def load_analyzer(path) -> tuple[Analyzer | None, str | None]:
    """(analyzer around the model at path, None) or (None, a one-line reason) when it is missing or unreadable."""
    try:
        return Analyzer(load_predictor(str(path))), None
    except ModelLoadError as exc:
        return None, str(exc)


def require_analyzer(live: bool = False) -> Analyzer:
    """The shared analyzer (live: around the camera's model), or a clear error page (not a traceback) and a stop
    when the model can't load."""
    analyzer, error = load_analyzer(camera_model_path() if live else default_model_path())
    if error:
        st.error(f"The emotion model could not be loaded: {error}")
        st.info("Set FER_MODEL to a .keras (or shipped .tflite) file trained with `python -m fer_core train`, "
                "or restore the shipped model in models/ (git checkout models/).")
        st.stop()
    return analyzer
