"""Cached, app-wide resources shared by the pages (loaded once per server process)."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import streamlit as st

from fer_core import Analyzer, DetectorConfig, ModelLoadError, Predictor
from fer_core.inference.live import LiveSettings
from fer_core.inference.tta import TTA_LABELS, default_evaluation, view_count
from fer_core.runs.folder import architecture_line, read_run
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


def run_line(path, live: bool = False) -> str:
    """A shipped model's name and its PublicTest accuracy in the mode it runs in: the camera's test-time
    augmentation (LiveSettings.tta) there, else the model's default (tta.default_evaluation)."""
    run = read_run(path.parent)
    evaluation = (run.evaluations.get(LiveSettings().tta) if live
                  else default_evaluation(run.settings, run.evaluations))
    return f"**{run.name}**" + (f" ({evaluation['accuracy']:.1%} on PublicTest)" if evaluation else "")


# Material icons ship with Streamlit's frontend (no emoji font or CDN needed).
PAGES = (
    ("streamlit_app.py", "Home", ":material/home:"),
    ("pages/1_Live_camera.py", "Live camera", ":material/videocam:"),
    ("pages/2_Analyse_photos.py", "Analyse photos", ":material/photo_library:"),
    ("pages/3_Dataset_and_training.py", "Dataset & training", ":material/bar_chart:"),
    ("pages/4_Video.py", "Analyse a video", ":material/movie:"),
)


def page_setup(path: str) -> None:
    """Page title, icon and wide layout for the page at `path` (relative to the app folder), and the sidebar links."""
    label, icon = next((label, icon) for p, label, icon in PAGES if p == path)
    title = "Facial emotion recognition" if path == PAGES[0][0] else f"{label} · Facial emotion recognition"
    st.set_page_config(page_title=title, page_icon=icon, layout="wide")
    with st.sidebar:
        for page, page_label, page_icon in PAGES:
            st.page_link(page, label=page_label, icon=page_icon)
        st.divider()


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


def accuracy_sentence() -> str:
    """The default model's accuracy in one plain sentence, on faces as a camera delivers them where measured."""
    run = read_run(default_model_path().parent)
    raw = (run.scorecard or {}).get("raw")
    scene = (run.scorecard or {}).get("scene")
    if raw:
        found = (f" Put into larger pictures, turned and moved about, the same faces are found, aligned and read "
                 f"right **{scene['accuracy']:.0%}** of the time, {scene['of_direct']:.0%} of that."
                 if scene else "")
        return (f"On {raw['n']:,} faces it had not been trained on, in the pixels a camera delivers, the model "
                f"names the emotion that FER2013's annotators chose **{raw['accuracy']:.0%}** of the time; happy "
                "and surprised faces are easiest, disgust and fear hardest." + found)
    evaluation = default_evaluation(run.settings, run.evaluations)
    return "" if evaluation is None else (f"On FER2013's test faces the model is right **{evaluation['accuracy']:.0%}**"
                                          " of the time.")


def model_summary(analyzer: Analyzer | None = None) -> str:
    path = default_model_path()
    run = read_run(path.parent)
    lines = [f"**{run.name}**"]  # the folder's name: where it lies on the server is not the browser's business
    if run.settings:
        lines.append(f"- architecture: {architecture_line(run)}")
    if run.evaluation:
        lines.append(f"- PublicTest accuracy: {run.evaluation['accuracy']:.1%}, "
                     f"macro-F1 {run.evaluation['macro_f1']:.3f} ({run.evaluation['n']:,} faces)")
    for mode, evaluation in run.evaluations.items():
        if mode != "none":
            lines.append(f"- with {TTA_LABELS[mode]} ({view_count(mode)} views per face): {evaluation['accuracy']:.1%}")
    if camera_model_path() != path:
        lines.append(f"- the live camera uses {run_line(camera_model_path(), live=True)}, light enough for every frame")
    if analyzer:
        engine = {"tflite": "LiteRT (XNNPACK)", "function": "compiled TensorFlow function"}
        lines.append(f"- inference: {engine.get(analyzer.predictor.engine, analyzer.predictor.engine)}; photos are "
                     f"analysed {'with ' + TTA_LABELS[analyzer.tta] if analyzer.tta != 'none' else 'without TTA'}")
    return "\n".join(lines)


DETECTOR_NAMES = {"yunet": "YuNet (a small CNN: more faces, profiles, fast)",
                  "haar": "Haar cascade (OpenCV's classic frontal detector)"}


def detector_controls(defaults: DetectorConfig, key: str) -> DetectorConfig:
    """Sidebar widgets: which detector, and its sensitivity; returns the chosen DetectorConfig."""
    method = st.sidebar.selectbox("Face detector", list(DETECTOR_NAMES), index=list(DETECTOR_NAMES).index(
        defaults.method), format_func=DETECTOR_NAMES.get, key=f"{key}_detector")
    with st.sidebar.expander("Detection sensitivity", expanded=False):
        if method == "yunet":
            score_threshold = st.slider("Face score threshold (lower finds more faces and more false ones)", 0.3,
                                        0.95, float(defaults.score_threshold), 0.05, key=f"{key}_score")
            align = st.checkbox("Align each face to FER2013's pose from its landmarks", value=defaults.align,
                                key=f"{key}_align", help="Off: crop each face from its box instead")
            scale_factor, min_neighbors = defaults.scale_factor, defaults.min_neighbors
        else:
            scale_factor = st.slider("Scale factor (lower finds more faces, slower)", 1.03, 1.5,
                                     float(defaults.scale_factor), 0.01, key=f"{key}_scale")
            min_neighbors = st.slider("Min neighbours (lower finds more faces and more false ones)", 1, 10,
                                      int(defaults.min_neighbors), key=f"{key}_neighbors")
            score_threshold, align = defaults.score_threshold, defaults.align
        min_face = st.slider("Smallest face (pixels)", 12, 300, int(defaults.min_face), key=f"{key}_min_face")
        max_side = st.select_slider("Detect on a copy no larger than (pixels, longer side)",
                                    options=[240, 320, 480, 640, 960, 1280, 1920, 4096],
                                    value=int(defaults.max_side or 4096), key=f"{key}_max_side")
    return replace(defaults, method=method, scale_factor=scale_factor, min_neighbors=min_neighbors,
                   score_threshold=score_threshold, min_face=min_face, max_side=max_side, align=align)


def ice_servers() -> list[dict]:
    """ICE servers for WebRTC: $FER_ICE_SERVERS (JSON list) or secrets' ice_servers; none by default, which
    works on the same machine and on a LAN without internet."""
    raw = os.environ.get("FER_ICE_SERVERS")
    if raw:
        return json.loads(raw)
    try:
        return list(st.secrets.get("ice_servers", []))
    except (FileNotFoundError, KeyError, AttributeError):
        return []
    except Exception:  # noqa: BLE001 - Streamlit raises its own error type when no secrets file exists
        return []
