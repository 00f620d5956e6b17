import keras
import numpy as np
import pytest

from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.runs.folder import read_run
from fer_core.training.ship import ship_run
from helpers import synthetic_faces


def test_shipped_model_predicts_the_same_without_its_optimizer(tiny_model, tmp_path):
    run = tiny_model.parent
    dest = ship_run(run, tmp_path / "models" / "tiny")

    shipped, trained = read_run(dest), read_run(run)
    assert shipped.settings == trained.settings | {"experiment": run.name}  # shipped under another name
    assert shipped.history == trained.history
    assert shipped.evaluation == trained.evaluation and shipped.evaluations == trained.evaluations
    assert not (dest / "checkpoint").exists()
    assert getattr(keras.models.load_model(dest / "model.keras"), "optimizer", None) is None
    assert keras.models.load_model(tiny_model).optimizer is not None
    assert (dest / "model.keras").stat().st_size < (tiny_model).stat().st_size

    faces = to_model_input(synthetic_faces(3, seed=7)[0])
    before = Predictor.load(tiny_model, engine="function").predict_proba(faces)
    after = Predictor.load(dest / "model.keras", engine="function").predict_proba(faces)
    np.testing.assert_allclose(after, before, atol=1e-6)

    card = (dest / "model_card.md").read_text()
    assert "python -m fer_core ship runs/tiny" in card
    assert f"| plain | 1 | {trained.evaluation['accuracy']:.4f} |" in card
    assert "evaluation_multi.json" in {p.name for p in dest.iterdir()}


def test_an_unfinished_run_is_refused(tiny_model, tmp_path):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "settings.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="evaluation.json"):
        ship_run(unfinished, tmp_path / "models" / "x")
    with pytest.raises(ValueError):
        ship_run(tiny_model.parent, tiny_model.parent)
