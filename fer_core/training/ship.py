"""Turning a finished training run into a shipped model folder: the run's fixed files, its best model saved without
the optimizer state (inference never reads it, and it is two thirds of the file), that model converted to TFLite
with the labels and test-time augmentation default it runs with (so inference needs no TensorFlow), and a fresh
model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fer_core.errors import MissingInputError, UsageError
from fer_core.inference import tflite
from fer_core.inference.predictor import inference_info, load_keras_model
from fer_core.inference.tta import tta_mode
from fer_core.runs import folder as run_folder
from fer_core.runs.folder import read_run
from fer_core.training.model_card import write_model_card

COPIED_FILES = (run_folder.SETTINGS_FILE, run_folder.HISTORY_FILE, run_folder.EVALUATION_FILES["none"],
                run_folder.EVALUATION_FILES["mirror"])
# Runs trained before the multi-view TTA mode lack its evaluation (`evaluate --rescore` adds it); a scorecard
# exists once `evaluate --save` measured what users see.
OPTIONAL_FILES = (run_folder.EVALUATION_FILES["multi"], run_folder.SCORECARD_FILE)


def ship_run(run_dir, dest, tta: str | None = None) -> Path:
    """Write run_dir's model and files into dest (e.g. models/<name>); returns dest. tta: the test-time augmentation
    the shipped model runs by default (fer_core.inference.predictor.read_tta_default); None keeps the rule."""
    run_dir, dest = Path(run_dir), Path(dest)
    ensemble = read_run(run_dir).settings.get("arch") == run_folder.ENSEMBLE_ARCH
    # An ensemble has no history of its own; its members' files travel in members/.
    copied = [name for name in COPIED_FILES if not (ensemble and name == run_folder.HISTORY_FILE)]
    missing = [name for name in (run_folder.MODEL_FILE, *copied) if not (run_dir / name).is_file()]
    if ensemble and not (run_dir / run_folder.MEMBERS_DIR).is_dir():
        missing.append(run_folder.MEMBERS_DIR + "/")
    if missing:
        raise MissingInputError(f"{run_dir} is not a finished run: missing {', '.join(missing)}")
    if dest.resolve() == run_dir.resolve():
        raise UsageError("ship a run into a different folder than its own")
    dest.mkdir(parents=True, exist_ok=True)
    for name in copied + [name for name in OPTIONAL_FILES if (run_dir / name).is_file()]:
        shutil.copy2(run_dir / name, dest / name)
    # A shipped name (e.g. fer-default-1.0) differs from the experiment's; the card names both.
    _update_settings(dest, ({"experiment": run_dir.name} if dest.name != run_dir.name else {})
                     | ({"tta_default": tta_mode(tta)} if tta else {}))
    if ensemble:
        shutil.copytree(run_dir / run_folder.MEMBERS_DIR, dest / run_folder.MEMBERS_DIR, dirs_exist_ok=True)
    # An uncompiled model has no optimizer, so nothing but the layers and weights is saved.
    model = load_keras_model(run_dir / run_folder.MODEL_FILE)
    model.save(dest / run_folder.MODEL_FILE)
    write_converted_model(dest, model)
    write_model_card(dest)
    return dest


def set_tta_default(folder, tta: str) -> None:
    """Record in folder's settings the TTA mode its model runs by default. PublicTest's original labels alone pick
    a mode otherwise; a model whose costlier mode wins there and loses on raw pixels or end to end ships cheaper."""
    _update_settings(folder, {"tta_default": tta_mode(tta)})


def _update_settings(folder, fields: dict) -> None:
    if not fields:
        return
    settings_file = Path(folder) / run_folder.SETTINGS_FILE
    settings_file.write_text(json.dumps(json.loads(settings_file.read_text()) | fields, indent=2) + "\n")


def write_converted_model(folder, model=None) -> Path:
    """Convert folder's model.keras (already loaded as `model`, when the caller has it) to model.tflite and write
    inference.json beside it; returns the .tflite path."""
    folder = Path(folder)
    keras_path = folder / run_folder.MODEL_FILE
    model = load_keras_model(keras_path) if model is None else model
    converted = folder / run_folder.TFLITE_FILE
    converted.write_bytes(tflite.convert(model))
    info = inference_info(keras_path, int(model.output_shape[-1]))
    (folder / run_folder.INFERENCE_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return converted
