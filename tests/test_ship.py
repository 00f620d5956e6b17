import json
import shutil

import keras
import numpy as np
import pytest

from fer_core.inference.predictor import Predictor, read_tta_default
from fer_core.inference.preprocess import to_model_input
from fer_core.runs.folder import read_run
from fer_core.training.scorecard import scorecard
from fer_core.training.ship import ship_run
from helpers import synthetic_faces


def _run_saved_with_its_optimizer(tiny_model, folder):
    """A copy of the tiny run whose model.keras carries Adam's state, as runs trained before train saved its best
    model uncompiled do: ship must still strip it."""
    run = shutil.copytree(tiny_model.parent, folder)
    model = keras.models.load_model(tiny_model)
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    model.save(run / "model.keras")
    return run


def test_shipped_model_predicts_the_same_without_its_optimizer(tiny_model, tmp_path):
    run = _run_saved_with_its_optimizer(tiny_model, tmp_path / "runs" / tiny_model.parent.name)
    dest = ship_run(run, tmp_path / "models" / "tiny")

    shipped, trained = read_run(dest), read_run(run)
    assert shipped.settings == trained.settings | {"experiment": run.name}  # shipped under another name
    assert shipped.history == trained.history
    assert shipped.evaluation == trained.evaluation and shipped.evaluations == trained.evaluations
    assert not (dest / "checkpoint").exists()
    assert getattr(keras.models.load_model(dest / "model.keras"), "optimizer", None) is None
    assert keras.models.load_model(run / "model.keras").optimizer is not None
    assert (dest / "model.keras").stat().st_size < (run / "model.keras").stat().st_size

    faces = to_model_input(synthetic_faces(3, seed=7)[0])
    before = Predictor.load(run / "model.keras", engine="function").predict_proba(faces)
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


def test_a_measured_scorecard_ships_with_the_model_and_fills_its_card(tiny_model, synthetic_dataset, tmp_path):
    run = tmp_path / "measured"
    shutil.copytree(tiny_model.parent, run)
    predictor = Predictor.load(run / "model.keras", engine="function")
    card = scorecard(predictor, synthetic_dataset / "folder", tta="none", raw=synthetic_dataset / "folder")
    (run / "scorecard.json").write_text(json.dumps(card))

    dest = ship_run(run, tmp_path / "models" / "measured-1.0")
    assert read_run(dest).scorecard == read_run(run).scorecard
    text = (dest / "model_card.md").read_text()
    assert "## What users see" in text and f"{card['raw']['accuracy']:.4f}" in text


def test_ship_tta_sets_the_mode_the_shipped_model_runs_by_default(tiny_model, tmp_path):
    by_rule = read_tta_default(tiny_model)
    chosen = "multi" if by_rule != "multi" else "mirror"
    dest = ship_run(tiny_model.parent, tmp_path / "models" / "tiny-tta", tta=chosen)

    assert read_run(dest).settings["tta_default"] == chosen
    assert json.loads((dest / "inference.json").read_text())["tta_default"] == chosen
    assert Predictor.load(dest / "model.keras").tta_default == chosen  # the TFLite path reads inference.json
    assert Predictor.load(dest / "model.keras", engine="function").tta_default == chosen
    card = (dest / "model_card.md").read_text()
    assert f"--tta {chosen}   #" in card and f"chosen when shipped (`ship --tta {chosen}`)" in card
    assert read_tta_default(tiny_model) == by_rule  # the run itself keeps the rule
