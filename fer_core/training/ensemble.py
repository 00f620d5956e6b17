"""Several trained runs averaged into one model: a single .keras file whose output is the mean of its members'
probabilities, so the predictor, TFLite, TTA, evaluation, shipping and the app treat it like any other model.

An ensemble folder has the run files every model folder has (settings.json, model.keras, evaluation*.json) and,
instead of a history of its own, members/<name>/ with each member's settings, history, evaluations and card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras

from fer_core import machine
from fer_core.errors import MissingInputError, UsageError
from fer_core.inference.predictor import Predictor, load_keras_model
from fer_core.runs import folder as run_folder
from fer_core.runs.folder import read_run
from fer_core.training.data import data_record, load_dataset
from fer_core.training.evaluation import write_evaluations
from fer_core.training.model_card import write_model_card

MEMBER_FILES = (run_folder.SETTINGS_FILE, run_folder.HISTORY_FILE, *run_folder.EVALUATION_FILES.values(),
                run_folder.CARD_FILE)


def average_models(models: list[keras.Model], name: str = run_folder.ENSEMBLE_ARCH) -> keras.Model:
    """One model whose output is the mean of the given models' outputs (all must share input and output shape)."""
    if len(models) < 2:
        raise UsageError("an ensemble needs at least two models")
    shapes = {(tuple(m.input_shape[1:]), tuple(m.output_shape[1:])) for m in models}
    if len(shapes) != 1:
        raise UsageError(f"members differ in input or output shape: {sorted(shapes)}")
    inputs = keras.Input(shape=models[0].input_shape[1:], name="face")
    # Re-wrapping gives each member a unique name inside the ensemble (two runs of one arch share a model name).
    members = [keras.Model(m.inputs, m.output, name=f"member_{i}") for i, m in enumerate(models)]
    return keras.Model(inputs, keras.layers.Average(name="mean_probabilities")([m(inputs) for m in members]),
                       name=name)


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


def build_ensemble(run_dirs, out, data=None, split: str | None = None) -> dict:
    """Average the best models of run_dirs (training runs or shipped model folders) into out; evaluates it on
    data's split (default: the first member's data and validation split) and returns the plain evaluation."""
    runs, out = [read_run(d) for d in run_dirs], Path(out)
    _check_members(runs, out)
    classes = [r.settings.get("classes") for r in runs]
    first = runs[0].settings
    data, split = data or first.get("data"), split or first.get("val_split", "test")

    out.mkdir(parents=True, exist_ok=True)
    model = average_models([load_keras_model(r.model_path) for r in runs], name=out.name)
    model.save(out / run_folder.MODEL_FILE)
    for run in runs:
        member_dir = out / run_folder.MEMBERS_DIR / run.name
        member_dir.mkdir(parents=True, exist_ok=True)
        for name in MEMBER_FILES:
            if (run.folder / name).is_file():
                shutil.copy2(run.folder / name, member_dir / name)

    dataset = load_dataset(data, split, classes[0])
    settings = {
        "arch": run_folder.ENSEMBLE_ARCH,
        "members": [{"name": r.name, "arch": r.settings.get("arch"), "parameters": r.settings.get("parameters"),
                     "accuracy": (r.evaluation or {}).get("accuracy"),
                     "train_seconds": (r.evaluation or {}).get("train_seconds")} for r in runs],
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
