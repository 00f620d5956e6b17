from streamlit.testing.v1 import AppTest

from fer_core.runs.folder import read_run
from fer_core.runs.registry import DEFAULT_MODEL, MODELS_DIR
from helpers import REPO_ROOT

APP = str(REPO_ROOT / "streamlit_app.py")


def test_home_page_names_the_loaded_model(monkeypatch):
    monkeypatch.delenv("FER_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Facial emotion recognition"
    text = " ".join(m.value for m in at.markdown)
    assert read_run(MODELS_DIR / DEFAULT_MODEL).settings["arch"] in text and "PublicTest accuracy" in text
    raw = read_run(MODELS_DIR / DEFAULT_MODEL).scorecard["raw"]
    assert f"**{raw['accuracy']:.0%}** of the time" in text  # the accuracy in one plain sentence
    scene = read_run(MODELS_DIR / DEFAULT_MODEL).scorecard["scene"]  # and what detection and alignment keep of it
    assert f"**{scene['accuracy']:.0%}** of the time, {scene['of_direct']:.0%} of that" in text
    assert at.expander[0].label == "Model details"  # run ids and TTA modes stay out of the way
    labels = [link.label for link in at.get("page_link")]
    pages = ["Live camera", "Analyse photos", "Dataset & training", "Analyse a video"]
    # The home page's own list and its link to the details, then the sidebar.
    assert labels == [*pages, "Dataset & training", "Home", *pages]


def test_missing_model_gives_an_error_page_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_MODEL", str(tmp_path / "missing.keras"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "could not be loaded" in at.error[0].value
    assert "missing.keras" in at.error[0].value


def test_home_page_names_a_separate_camera_model(monkeypatch, tiny_model):
    monkeypatch.delenv("FER_MODEL", raising=False)
    monkeypatch.setenv("FER_LIVE_MODEL", str(tiny_model))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    accuracy = read_run(tiny_model.parent).evaluation["accuracy"]
    assert f"the live camera uses **{tiny_model.parent.name}** ({accuracy:.1%} on PublicTest)" in text
