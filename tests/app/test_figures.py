from app.figures import run_line
from fer_core.inference.tta import default_evaluation
from fer_core.runs.folder import read_run
from fer_core.runs.registry import camera_model_path, default_model_path


def test_each_model_is_shown_with_the_figure_of_the_mode_it_runs(monkeypatch):
    monkeypatch.delenv("FER_MODEL", raising=False)
    monkeypatch.delenv("FER_LIVE_MODEL", raising=False)
    default = read_run(default_model_path().parent)
    shown = default_evaluation(default.settings, default.evaluations)
    # The default runs the mode it shipped with, not whichever mode scored best on PublicTest.
    assert shown is default.evaluations[default.settings["tta_default"]]
    assert f"({shown['accuracy']:.1%} on PublicTest)" in run_line(default_model_path())
    best = max(e["accuracy"] for e in default.evaluations.values())
    if best != shown["accuracy"]:
        assert f"{best:.1%}" not in run_line(default_model_path())
    camera = read_run(camera_model_path().parent)  # one view per frame
    assert f"({camera.evaluations['none']['accuracy']:.1%} on PublicTest)" in run_line(camera_model_path(), live=True)
