import json
import shutil

import keras
import numpy as np
import pytest

from fer_core.cli import main
from fer_core.errors import UsageError
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.runs.folder import read_run
from fer_core.training.architectures import build_model
from fer_core.training.ensemble import average_models, build_ensemble, fit_weights
from fer_core.training.ship import ship_run
from helpers import synthetic_faces


@pytest.fixture
def two_runs(tiny_model, tmp_path):
    """The tiny trained run and a second run of the same classes holding an untrained network of another arch."""
    first = tmp_path / "runs" / "tiny"
    shutil.copytree(tiny_model.parent, first, ignore=shutil.ignore_patterns("checkpoint"))
    second = tmp_path / "runs" / "other"
    shutil.copytree(first, second)
    keras.utils.set_random_seed(3)
    build_model("vgg_fast", 7).save(second / "model.keras")
    return first, second


def test_the_ensemble_outputs_the_mean_of_its_members(two_runs, synthetic_dataset, tmp_path):
    first, second = two_runs
    out = tmp_path / "runs" / "pair"
    evaluation = build_ensemble([first, second], out, data=synthetic_dataset / "folder")

    faces = to_model_input(synthetic_faces(2, seed=9)[0])
    members = [Predictor.load(run / "model.keras", engine="function").predict_proba(faces)
               for run in (first, second)]
    assert not np.allclose(members[0], members[1], atol=1e-3)
    ensemble = Predictor.load(out / "model.keras")
    np.testing.assert_allclose(ensemble.predict_proba(faces), (members[0] + members[1]) / 2, atol=1e-5)

    run = read_run(out)
    assert run.settings["arch"] == "ensemble"
    assert [m["name"] for m in run.settings["members"]] == ["tiny", "other"]
    assert run.settings["parameters"] == sum(keras.models.load_model(r / "model.keras").count_params()
                                             for r in (first, second))
    assert run.evaluation == json.loads((out / "evaluation.json").read_text())
    assert evaluation["accuracy"] == run.evaluation["accuracy"] and run.evaluations["mirror"]["tta"] == "mirror"
    assert run.evaluations["multi"]["tta"] == "multi"
    assert run.evaluation["n"] == 35
    assert read_run(out / "members" / "tiny").history == read_run(first).history

    card = (out / "model_card.md").read_text()
    assert "| tiny | `mini_xception` |" in card and "| other |" in card
    assert "python -m fer_core ensemble runs/tiny runs/other --out runs/pair" in card
    assert "--out runs/tiny" in card


def test_a_shipped_ensemble_keeps_its_members_files(two_runs, synthetic_dataset, tmp_path):
    out = tmp_path / "runs" / "pair"
    assert main(["ensemble", *map(str, two_runs), "--out", str(out), "--data", str(synthetic_dataset / "folder")]) == 0
    dest = ship_run(out, tmp_path / "models" / "pair")
    assert read_run(dest).evaluation == read_run(out).evaluation
    assert (dest / "members" / "other" / "history.csv").is_file()
    assert "| other |" in (dest / "model_card.md").read_text()
    faces = to_model_input(synthetic_faces(1, seed=4)[0])
    np.testing.assert_allclose(Predictor.load(dest / "model.keras").predict_proba(faces),
                               Predictor.load(out / "model.keras").predict_proba(faces), atol=1e-6)

    shutil.rmtree(out / "members")
    with pytest.raises(FileNotFoundError, match="members"):
        ship_run(out, tmp_path / "models" / "again")


def test_members_must_agree(two_runs, tmp_path):
    first, second = two_runs
    with pytest.raises(ValueError, match="at least two"):
        average_models([keras.models.load_model(first / "model.keras")])
    settings = json.loads((second / "settings.json").read_text())
    (second / "settings.json").write_text(json.dumps(settings | {"classes": ["happy", "sad"]}))
    with pytest.raises(ValueError, match="different classes"):
        build_ensemble([first, second], tmp_path / "bad")
    with pytest.raises(ValueError, match="folder of its own"):
        build_ensemble([first, second], first)
    with pytest.raises(FileNotFoundError):
        build_ensemble([first, tmp_path / "missing"], tmp_path / "bad2")


def test_fitted_weights_favour_the_trained_member_and_the_model_applies_them(two_runs, synthetic_dataset, tmp_path):
    first, second = two_runs  # a trained network and an untrained one
    out = tmp_path / "runs" / "weighted"
    assert main(["ensemble", str(first), str(second), "--out", str(out), "--data", str(synthetic_dataset / "folder"),
                 "--fit-weights"]) == 0
    run = read_run(out)
    weights = run.settings["member_weights"]
    assert len(weights) == 2 and abs(sum(weights) - 1) < 1e-9 and weights[0] > weights[1]
    assert run.settings["member_weights_fitted_on"].startswith("test/")

    faces = to_model_input(synthetic_faces(2, seed=9)[0])
    members = [Predictor.load(r / "model.keras", engine="function").predict_proba(faces) for r in (first, second)]
    np.testing.assert_allclose(Predictor.load(out / "model.keras").predict_proba(faces),
                               weights[0] * members[0] + weights[1] * members[1], atol=1e-5)
    card = (out / "model_card.md").read_text()
    assert f"weights tiny {weights[0]:.2f}, other {weights[1]:.2f}, fitted on test/" in card
    assert "--out runs/weighted --data" in card and "--fit-weights" in card


def test_given_weights_are_normalised_and_spelt_in_the_reproduce_command(two_runs, synthetic_dataset, tmp_path):
    out = tmp_path / "runs" / "given"
    build_ensemble(list(two_runs), out, data=synthetic_dataset / "folder", weights=[3, 1])
    settings = read_run(out).settings
    assert settings["member_weights"] == [0.75, 0.25] and settings["member_weights_fitted_on"] is None
    assert "--weights 0.75,0.25" in (out / "model_card.md").read_text()
    for bad in ([1.0], [-1.0, 2.0], [0.0, 0.0], [float("nan"), 1.0]):
        with pytest.raises(UsageError):
            build_ensemble(list(two_runs), tmp_path / "runs" / "bad", data=synthetic_dataset / "folder", weights=bad)
    with pytest.raises(UsageError):
        build_ensemble(list(two_runs), tmp_path / "runs" / "bad", weights=[1, 1], fit=True)


def test_fit_weights_finds_the_lowest_log_loss_on_the_grid():
    labels = np.array([0, 1, 0, 1])
    sure = np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]])
    wrong = sure[:, ::-1]
    assert fit_weights([sure, wrong], labels) == [1.0, 0.0]
    # Two members right on different halves: the even blend beats either alone.
    left = np.array([[0.99, 0.01], [0.99, 0.01], [0.99, 0.01], [0.01, 0.99]])
    right = np.array([[0.01, 0.99], [0.01, 0.99], [0.99, 0.01], [0.01, 0.99]])
    assert fit_weights([left, right], np.array([0, 1, 0, 1])) == [0.5, 0.5]


def test_an_ensemble_of_an_ensemble_keeps_every_network_s_records_and_recipe(two_runs, synthetic_dataset, tmp_path):
    first, second = two_runs
    data = str(synthetic_dataset / "folder")
    pair = tmp_path / "runs" / "pair"
    build_ensemble([first, second], pair, data=data)
    third = tmp_path / "runs" / "third"
    shutil.copytree(first, third)
    out = tmp_path / "runs" / "wider"
    build_ensemble([pair, third], out, data=data, weights=[0.6, 0.4])

    assert read_run(out / "members" / "pair" / "members" / "other").history == read_run(second).history
    card = (out / "model_card.md").read_text()
    assert "| pair | `ensemble` of tiny, other |" in card and "| third | `mini_xception` |" in card
    reproduce = card[card.index("## Reproduce"):]
    steps = [line for line in reproduce.splitlines() if line.startswith(("python", "KERAS"))]
    train_outs = [line for line in reproduce.split("python -m fer_core") if " train " in line]
    assert len(train_outs) == 3 and all(f"--out runs/{n}" in "".join(train_outs) for n in ("tiny", "other", "third"))
    ensembles = [s for s in steps if " ensemble " in s]
    assert ensembles == [f"python -m fer_core ensemble runs/tiny runs/other --out runs/pair --data {data}",
                         f"python -m fer_core ensemble runs/pair runs/third --out runs/wider --data {data} "
                         "--weights 0.6,0.4"]
