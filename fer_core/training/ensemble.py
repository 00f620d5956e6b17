"""Several trained runs averaged into one model: a single .keras file whose output is the mean of its members'
probabilities, or their weighted mean, so the predictor, TFLite, TTA, evaluation, shipping and the app treat it like
any other model. Weights are given, or fitted on the validation split (PublicTest), never on a withheld set.

An ensemble folder has the run files every model folder has (settings.json, model.keras, evaluation*.json) and,
instead of a history of its own, members/<name>/ with each member's settings, history, evaluations and card."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from fer_core import machine
from fer_core.errors import MissingInputError, UsageError
from fer_core.inference.predictor import Predictor, load_keras_model
from fer_core.inference.preprocess import to_model_input
from fer_core.runs import folder as run_folder
from fer_core.runs.folder import read_run
from fer_core.training.data import data_record, load_dataset
from fer_core.training.evaluation import write_evaluations
from fer_core.training.model_card import write_model_card

MEMBER_FILES = (run_folder.SETTINGS_FILE, run_folder.HISTORY_FILE, *run_folder.EVALUATION_FILES.values(),
                run_folder.CARD_FILE)


WEIGHT_STEP = 0.05


def average_models(models: list[keras.Model], name: str = run_folder.ENSEMBLE_ARCH,
                   weights: Sequence[float] | None = None) -> keras.Model:
    """One model whose output is the mean of the given models' outputs (all must share input and output shape), or
    their weighted mean with `weights` (normalised to sum to 1)."""
    if len(models) < 2:
        raise UsageError("an ensemble needs at least two models")
    shapes = {(tuple(m.input_shape[1:]), tuple(m.output_shape[1:])) for m in models}
    if len(shapes) != 1:
        raise UsageError(f"members differ in input or output shape: {sorted(shapes)}")
    inputs = keras.Input(shape=models[0].input_shape[1:], name="face")
    # Re-wrapping gives each member a unique name inside the ensemble (two runs of one arch share a model name).
    members = [keras.Model(m.inputs, m.output, name=f"member_{i}") for i, m in enumerate(models)]
    outputs = [m(inputs) for m in members]
    if weights is None:
        return keras.Model(inputs, keras.layers.Average(name="mean_probabilities")(outputs), name=name)
    shares = normalised_weights(weights, len(models))
    scaled = [keras.layers.Rescaling(share, name=f"weight_{i}")(output)
              for i, (share, output) in enumerate(zip(shares, outputs, strict=True))]
    return keras.Model(inputs, keras.layers.Add(name="mean_probabilities")(scaled), name=name)


def normalised_weights(weights: Sequence[float], members: int) -> list[float]:
    if len(weights) != members:
        raise UsageError(f"{len(weights)} weights for {members} members")
    if any(not np.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise UsageError(f"weights must be non-negative and not all zero: {list(weights)}")
    return [float(w) / float(sum(weights)) for w in weights]


def fit_weights(probabilities: Sequence[np.ndarray], labels: np.ndarray, step: float = WEIGHT_STEP) -> list[float]:
    """The members' weights, on a grid of `step` over the simplex, whose weighted mean of probabilities has the
    lowest mean log-loss on these labels (the validation split's). Log-loss rather than accuracy: it is smooth in the
    weights, so the choice does not hinge on a few faces near a decision boundary."""
    ticks = round(1 / step)
    picked = [p[np.arange(len(labels)), labels] for p in probabilities]  # each member's probability of the truth
    best, best_loss = None, np.inf
    for split in itertools.combinations_with_replacement(range(len(picked)), ticks):
        counts = np.bincount(split, minlength=len(picked))
        truth = sum(c / ticks * p for c, p in zip(counts, picked, strict=True))
        loss = float(-np.mean(np.log(np.clip(truth, 1e-7, 1.0))))
        if loss < best_loss - 1e-12:
            best, best_loss = counts, loss
    assert best is not None
    return [round(int(c) / ticks, 6) for c in best]


def _check_members(runs, out: Path) -> None:
    if out.resolve() in {r.folder.resolve() for r in runs}:
        raise UsageError("write the ensemble into a folder of its own")
    for run in runs:
        if not run.model_path.is_file() or not run.settings:
            raise MissingInputError(f"{run.folder} is not a finished run: needs {run_folder.MODEL_FILE} and "
                                    f"{run_folder.SETTINGS_FILE}")
    classes = [r.settings.get("classes") for r in runs]
    if any(c != classes[0] for c in classes):
        raise UsageError(f"members predict different classes: {classes}")
    if len({r.name for r in runs}) != len(runs):
        raise UsageError("members need distinct folder names")


def _member_shares(members: list[keras.Model], runs, dataset, weights: Sequence[float] | None,
                   fit: bool) -> list[float] | None:
    """The normalised weights: given, fitted on the dataset (one view), or None for an equal mean."""
    if fit:
        faces = to_model_input(dataset.images)
        weights = fit_weights([Predictor(m, name=r.name).predict_proba(faces)
                               for m, r in zip(members, runs, strict=True)], dataset.labels)
    return normalised_weights(weights, len(runs)) if weights is not None else None


def _copy_member_files(runs, out: Path) -> None:
    """Each member's records into out/members/<name>/; a member that is itself an ensemble brings its own
    members/ along, so the card can follow every network back to its training run."""
    for run in runs:
        member_dir = out / run_folder.MEMBERS_DIR / run.name
        member_dir.mkdir(parents=True, exist_ok=True)
        for name in MEMBER_FILES:
            if (run.folder / name).is_file():
                shutil.copy2(run.folder / name, member_dir / name)
        if (run.folder / run_folder.MEMBERS_DIR).is_dir():
            shutil.copytree(run.folder / run_folder.MEMBERS_DIR, member_dir / run_folder.MEMBERS_DIR,
                            dirs_exist_ok=True)


def build_ensemble(run_dirs, out, data=None, split: str | None = None, weights: Sequence[float] | None = None,
                   fit: bool = False) -> dict:
    """Average the best models of run_dirs (training runs or shipped model folders) into out; evaluates it on
    data's split (default: the first member's data and validation split) and returns the plain evaluation.
    weights: the members' shares; fit: choose them on that split (`fit_weights`, one view); neither: equal."""
    runs, out = [read_run(d) for d in run_dirs], Path(out)
    _check_members(runs, out)
    if weights is not None and fit:
        raise UsageError("give weights or fit them, not both")
    classes = [r.settings.get("classes") for r in runs]
    first = runs[0].settings
    data, split = data or first.get("data"), split or first.get("val_split", "test")
    dataset = load_dataset(data, split, classes[0])

    out.mkdir(parents=True, exist_ok=True)
    members = [load_keras_model(r.model_path) for r in runs]
    shares = _member_shares(members, runs, dataset, weights, fit)
    model = average_models(members, name=out.name, weights=shares)
    model.save(out / run_folder.MODEL_FILE)
    _copy_member_files(runs, out)

    settings = {
        "arch": run_folder.ENSEMBLE_ARCH,
        "members": [{"name": r.name, "arch": r.settings.get("arch"), "parameters": r.settings.get("parameters"),
                     "accuracy": (r.evaluation or {}).get("accuracy"),
                     "train_seconds": (r.evaluation or {}).get("train_seconds")} for r in runs],
        "member_weights": shares,
        "member_weights_fitted_on": f"{split}/, one view, lowest log-loss on a {WEIGHT_STEP} grid" if fit else None,
        "data": str(data),
        "val_split": split,
        "classes": list(dataset.classes),
        "data_record": first.get("data_record") or data_record(data, ["train", split]),
        "parameters": int(model.count_params()),
        "train_images": first.get("train_images"),
        "val_images": int(len(dataset.images)),
        "keras_backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "machine": machine.describe(),
    }
    (out / run_folder.SETTINGS_FILE).write_text(json.dumps(settings, indent=2))

    predictor = Predictor.load(out / run_folder.MODEL_FILE)
    train_seconds = sum(m["train_seconds"] or 0 for m in settings["members"])
    evaluation = write_evaluations(out, predictor, dataset, split, train_seconds)
    write_model_card(out)
    return evaluation
