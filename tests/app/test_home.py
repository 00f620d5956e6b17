from streamlit.testing.v1 import AppTest

from conftest import REPO_ROOT
from fer_core.paths import DEFAULT_RUN, MODELS_DIR
from fer_core.runs import read_run

APP = str(REPO_ROOT / "streamlit_app.py")


def test_home_page_names_the_loaded_model(monkeypatch):
    monkeypatch.delenv("FER_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Facial emotion recognition"
    text = " ".join(m.value for m in at.markdown)
    assert read_run(MODELS_DIR / DEFAULT_RUN).settings["arch"] in text and "PublicTest accuracy" in text
    labels = [link.label for link in at.get("page_link")]
    pages = ["Live camera", "Analyse photos", "Dataset & training", "Analyse a video"]
    assert labels == [*pages, "Home", *pages]  # the home page's own list, then the sidebar


def test_missing_model_gives_an_error_page_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_MODEL", str(tmp_path / "missing.keras"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "could not be loaded" in at.error[0].value
    assert "missing.keras" in at.error[0].value


def test_home_page_names_a_separate_camera_model(monkeypatch):
    monkeypatch.delenv("FER_MODEL", raising=False)
    monkeypatch.setenv("FER_LIVE_MODEL", str(MODELS_DIR / "mini_xception_v1" / "model.keras"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    accuracy = read_run(MODELS_DIR / "mini_xception_v1").evaluation["accuracy"]
    assert f"the live camera uses **mini_xception_v1** ({accuracy:.1%} on PublicTest)" in text
