"""Training runs: each writes settings.json, history.csv, model.keras (best on validation) and evaluation JSONs.

A checkpoint of the last epoch (model with optimizer state + state.json) is written every epoch, so
`train --resume` continues an interrupted run where it stopped.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import math
import time
from pathlib import Path

import keras
import numpy as np

from fer_core import machine
from fer_core.errors import UsageError
from fer_core.inference.predictor import Predictor, load_keras_model
from fer_core.inference.preprocess import to_model_input
from fer_core.machine import keep_freed_memory
from fer_core.runs import folder as run_folder
from fer_core.training import ferplus, swa
from fer_core.training.architectures import build_model
from fer_core.training.augment import augment_batch, flip_batch, mix_batch
from fer_core.training.data import data_record, load_dataset
from fer_core.training.evaluation import write_evaluations
from fer_core.training.model_card import write_model_card
from fer_core.training.settings import TrainSettings
from fer_core.training.teacher import teacher_targets

log = logging.getLogger(__name__)

# seconds: wall-clock per epoch; cpu_seconds: the process's CPU time over it, all threads (core-seconds), which
# stays comparable when runs share the machine's cores.
HISTORY_FIELDS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds",
                  "swa_val_accuracy", "cpu_seconds"]
SWA_FILE = "swa.npz"
# The checkpoint that --resume reads: the network with its optimizer state, and where the run stood.
LAST_MODEL_FILE = "last.keras"
STATE_FILE = "state.json"


class FaceBatches(keras.utils.PyDataset):
    """Shuffled, augmented batches of (faces, target distributions), with optional per-sample class weights.

    targets: float (N, classes), one-hot labels or labels blended with crowd votes (fer_core.training.ferplus)."""

    def __init__(self, images, labels, targets, settings: TrainSettings, class_weight=None, epoch=0,
                 teacher: Predictor | None = None, teacher_targets: np.ndarray | None = None):
        super().__init__()
        self.images, self.labels, self.targets = images, labels, targets
        self.settings, self.class_weight, self.teacher = settings, class_weight, teacher
        self.teacher_targets = teacher_targets  # per training face, when they do not depend on the augmentation
        self.epoch = epoch
        self._order = self._shuffle()

    def _shuffle(self):
        return np.random.default_rng((self.settings.seed, self.epoch)).permutation(len(self.images))

    def __len__(self):
        return math.ceil(len(self.images) / self.settings.batch_size)

    def __getitem__(self, index):
        b = self.settings.batch_size
        idx = self._order[index * b:(index + 1) * b]
        faces = self.images[idx]
        if self.settings.augment:
            rng = np.random.default_rng((self.settings.seed, self.epoch, index))
            faces = (flip_batch(faces, rng) if self.settings.flip_only
                     else augment_batch(faces, rng, self.settings.max_rotation, self.settings.max_zoom,
                                        self.settings.max_shift, erase_prob=self.settings.random_erasing))
        y = self.targets[idx]
        x = to_model_input(faces)
        if self.teacher_targets is not None or self.teacher is not None:
            # Without stored targets the teacher sees the same augmented faces, so its soft targets match the student's.
            soft = (self.teacher_targets[idx] if self.teacher_targets is not None
                    else self.teacher.predict_proba(x, tta=self.settings.teacher_tta))
            alpha = self.settings.distill
            y = (1 - alpha) * y + alpha * soft
        if self.settings.augment and (self.settings.mixup or self.settings.cutmix):
            rng = np.random.default_rng((self.settings.seed, self.epoch, index, 1))
            x, y = mix_batch(x, y, rng, self.settings.mixup, self.settings.cutmix)
        if self.class_weight is None:
            return x, y
        return x, y, self.class_weight[self.labels[idx]].astype(np.float32)

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._shuffle()


def learning_rate_at(settings: TrainSettings, epoch: int) -> float:
    base = settings.learning_rate
    if settings.schedule == "constant":
        return base
    if epoch < settings.warmup_epochs:
        return base * (epoch + 1) / (settings.warmup_epochs + 1)
    span = max(1, settings.epochs - settings.warmup_epochs)
    progress = (epoch - settings.warmup_epochs) / span
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class RunRecorder(keras.callbacks.Callback):
    """A run's bookkeeping around each epoch: its learning rate before it; after it, the weight average, the history
    row, the best model and the resume checkpoint, each in a method of its own."""

    def __init__(self, run_dir: Path, settings: TrainSettings, best: float, elapsed: float, val=None,
                 calibration=None):
        super().__init__()
        self.run_dir, self.settings = run_dir, settings
        self.best, self.elapsed = best, elapsed
        self.checkpoint = run_dir / run_folder.CHECKPOINT_DIR
        # For weight averaging: validation (model input, labels) and the faces that recalibrate batch norm.
        self.val, self.calibration = val, calibration
        stored = self.checkpoint / SWA_FILE
        self.average = swa.WeightAverage.load(stored) if stored.is_file() else swa.WeightAverage()

    def on_train_batch_end(self, batch, logs=None):
        # After the second step (batch index 1): set before the first training step, the setting did not hold.
        if batch == 1:
            keep_freed_memory()

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(learning_rate_at(self.settings, epoch))
        self._started, self._cpu_started = time.time(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.time() - self._started
        self.elapsed += seconds
        row = {"epoch": epoch + 1, "learning_rate": learning_rate_at(self.settings, epoch),
               "seconds": round(seconds, 1)}
        row.update({k: float(logs[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs})
        averaged = self._average_weights(epoch, row)
        row["cpu_seconds"] = round(time.process_time() - self._cpu_started, 1)
        self._append_history(row)
        # The averaged network is one more candidate for the best model, under the same validation rule.
        candidates = [(float(logs.get("val_accuracy", -1.0)), self.model)]
        if averaged is not None:
            candidates.append((row["swa_val_accuracy"], averaged))
        self._keep_best(candidates)
        self._save_checkpoint(epoch)

    def _average_weights(self, epoch: int, row: dict) -> keras.Model | None:
        """From --swa-start on: adds this epoch's weights to the running average and scores the averaged network."""
        if not (self.settings.swa_start and epoch + 1 >= self.settings.swa_start):
            return None
        self.average.add(self.model.get_weights())
        averaged = swa.averaged_model(self.model, self.average, self.calibration)
        row["swa_val_accuracy"] = swa.accuracy(averaged, *self.val)
        return averaged

    def _append_history(self, row: dict) -> None:
        history = self.run_dir / run_folder.HISTORY_FILE
        new = not history.exists()
        with open(history, "a", newline="") as f:
            writer = csv.DictWriter(f, HISTORY_FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)

    def _keep_best(self, candidates: list[tuple[float, keras.Model]]) -> None:
        """Saves as the run's model any candidate that beats the best validation accuracy so far."""
        for val, candidate in candidates:
            if val > self.best:
                self.best = val
                _inference_copy(candidate, self.settings).save(self.run_dir / run_folder.MODEL_FILE)

    def _save_checkpoint(self, epoch: int) -> None:
        """What --resume needs: the network with its optimizer state, the weight average, the epoch and the best."""
        self.checkpoint.mkdir(exist_ok=True)
        self.model.save(self.checkpoint / LAST_MODEL_FILE)
        if self.average.count:
            self.average.save(self.checkpoint / SWA_FILE)
        state = {"epoch": epoch + 1, "best_val_accuracy": self.best, "train_seconds": round(self.elapsed, 1)}
        (self.checkpoint / STATE_FILE).write_text(json.dumps(state, indent=2))


# Keras dtype policy of each --precision: mixed_bfloat16 computes in bfloat16 and keeps the weights in float32.
DTYPE_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


@contextlib.contextmanager
def dtype_policy(name: str):
    """Keras's global dtype policy set to `name` for new layers, and restored afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _inference_copy(model: keras.Model, settings: TrainSettings) -> keras.Model:
    """The network as it is saved for inference: rebuilt uncompiled, so the file carries no optimizer state (Adam's
    two moments would triple it, and --resume reads them from the checkpoint), and in float32, because a .keras file
    keeps each layer's dtype policy while the app, TFLite and evaluation compute in float32."""
    with dtype_policy("float32"):
        copy = build_model(settings.arch, model.output_shape[-1])
    copy.set_weights(model.get_weights())
    return copy


def _fixed_teacher_targets(teacher: Predictor, images: np.ndarray,
                           settings: TrainSettings) -> tuple[np.ndarray | None, str | None]:
    """The teacher's probabilities for every training face and their hash, computed once and cached
    (fer_core.training.teacher); (None, None) when --teacher-per-batch asks the teacher to see each augmented batch.
    Mirror-averaged targets fit a mirrored face exactly; for the other augmentations they are the plain face's."""
    views_change = settings.augment and not (settings.flip_only and settings.teacher_tta != "none")
    if settings.teacher_per_batch and views_change:
        return None, None
    return teacher_targets(teacher, str(settings.teacher), settings.teacher_tta, images, settings.data)


def _training_faces(train_set, settings: TrainSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(faces, labels, targets) to train on: one-hot targets, or blended with FER+ votes (which also leaves out the
    faces the crowd called not a face); then the first settings.limit of a seeded shuffle."""
    images, labels = train_set.images, train_set.labels
    if settings.ferplus:
        targets, keep = ferplus.training_targets(train_set, settings.ferplus, settings.ferplus_weight)
        images, labels, targets = images[keep], labels[keep], targets[keep]
    else:
        targets = np.eye(len(train_set.classes), dtype=np.float32)[labels]
    if settings.limit:
        chosen = np.random.default_rng(settings.seed).permutation(len(images))[: settings.limit]
        images, labels, targets = images[chosen], labels[chosen], targets[chosen]
    return images, labels, targets


def _balanced_weights(labels, num_classes) -> np.ndarray:
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    return np.where(counts > 0, len(labels) / (num_classes * np.maximum(counts, 1)), 0.0)


def _truncate_history(history: Path, epochs_done: int) -> None:
    """Drop history rows written after the checkpoint, e.g. by an epoch that was interrupted mid-save."""
    if not history.exists():
        return
    with open(history, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= epochs_done]
    with open(history, "w", newline="") as f:
        writer = csv.DictWriter(f, HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _load_start_weights(model, source: str, arch: str) -> None:
    """Copy every layer's weights from a trained model of the same architecture; a fresh optimizer then runs a new
    schedule from there (a warm restart)."""
    start = load_keras_model(source)
    ours, theirs = model.get_weights(), start.get_weights()
    if [w.shape for w in ours] != [w.shape for w in theirs]:
        raise UsageError(f"--init-from {source}: its weights do not fit --arch {arch} with "
                         f"{model.output_shape[-1]} classes")
    model.set_weights(theirs)


def _schedule_changes(settings_file: Path, settings: TrainSettings, initial_epoch: int) -> list[dict]:
    """The run's earlier --epochs values: a resume with another total bends the schedule from then on, and the card
    needs that to print commands that reproduce the run."""
    previous = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
    changes = list(previous.get("schedule_changes", []))
    if initial_epoch and previous.get("epochs") not in (None, settings.epochs):
        changes.append({"after_epoch": initial_epoch, "epochs_before": previous["epochs"]})
    return changes


def _new_model(settings: TrainSettings, num_classes: int) -> keras.Model:
    """The run's network, from random weights or --init-from's, compiled with its optimizer and loss."""
    model = build_model(settings.arch, num_classes)
    if settings.init_from:
        _load_start_weights(model, settings.init_from, settings.arch)
    if settings.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(settings.learning_rate, momentum=0.9, nesterov=True)
    else:
        optimizer = keras.optimizers.Adam(settings.learning_rate)
    model.compile(optimizer=optimizer,
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=settings.label_smoothing),
                  metrics=["accuracy"])
    return model


def _write_settings(settings_file: Path, settings: TrainSettings, initial_epoch: int, model, classes,
                    train_images: int, val_images: int, teacher_targets_sha256: str | None = None) -> None:
    """settings.json: the settings, what they resolved to, and where the run was trained."""
    changes = _schedule_changes(settings_file, settings, initial_epoch)
    record = dataclasses.asdict(settings) | {
        "classes": classes,
        "data_record": data_record(settings.data, ["train", settings.val_split]),
        "parameters": int(model.count_params()),
        "train_images": int(train_images),
        "val_images": int(val_images),
        "keras_backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "machine": machine.describe(),
    } | ({"schedule_changes": changes} if changes else {}) | (
        {"teacher_targets_sha256": teacher_targets_sha256} if teacher_targets_sha256 else {})
    settings_file.write_text(json.dumps(record, indent=2))


def _load_teacher(settings: TrainSettings, classes) -> Predictor | None:
    if not settings.teacher:
        return None
    teacher = Predictor.load(settings.teacher)
    if list(teacher.labels) != classes:
        raise UsageError(f"teacher {settings.teacher} predicts {teacher.labels}, the run trains {classes}")
    return teacher


def _start_or_resume(run_dir: Path, settings: TrainSettings, num_classes: int, resume: bool):
    """(model, first epoch, best validation accuracy so far, training seconds so far) for a run that resumes from
    its checkpoint, or for a fresh run whose earlier files are cleared."""
    checkpoint = run_dir / run_folder.CHECKPOINT_DIR
    state_file = checkpoint / STATE_FILE
    if resume and state_file.exists():
        state = json.loads(state_file.read_text())
        model = keras.models.load_model(checkpoint / LAST_MODEL_FILE)  # keeps its policy
        _truncate_history(run_dir / run_folder.HISTORY_FILE, state["epoch"])
        return model, state["epoch"], state["best_val_accuracy"], state["train_seconds"]
    for name in (run_folder.HISTORY_FILE, run_folder.MODEL_FILE, f"{run_folder.CHECKPOINT_DIR}/{SWA_FILE}"):
        (run_dir / name).unlink(missing_ok=True)
    with dtype_policy(DTYPE_POLICIES[settings.precision]):
        model = _new_model(settings, num_classes)
    return model, 0, -1.0, 0.0


def train(settings: TrainSettings, resume: bool = False, verbose: int = 2, stop_after: int | None = None):
    """Train (or resume) one run into settings.out; returns the final evaluation of the best model, or None when
    stop_after ends this part before settings.epochs (the run then continues with resume=True)."""
    run_dir = Path(settings.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    if settings.precision == "bfloat16" and not machine.native_bfloat16():
        log.warning("this CPU has neither AVX-512 BF16 nor AMX: bfloat16 is emulated here and trains far slower "
                    "than --precision float32")
    settings_file = run_dir / run_folder.SETTINGS_FILE
    keras.utils.set_random_seed(settings.seed)

    train_set = load_dataset(settings.data, "train", settings.classes)
    val_set = load_dataset(settings.data, settings.val_split, settings.classes)
    if len(train_set.images) == 0 or len(val_set.images) == 0:
        raise UsageError(f"{settings.data}: need faces in both the train and {settings.val_split} splits")
    images, labels, targets = _training_faces(train_set, settings)
    classes = list(train_set.classes)
    num_classes = len(classes)

    model, initial_epoch, best, elapsed = _start_or_resume(run_dir, settings, num_classes, resume)
    teacher = _load_teacher(settings, classes)
    fixed, fixed_sha256 = _fixed_teacher_targets(teacher, images, settings) if teacher is not None else (None, None)
    _write_settings(settings_file, settings, initial_epoch, model, classes, len(images), len(val_set.images),
                    fixed_sha256)

    class_weight = _balanced_weights(labels, num_classes) if settings.class_weights else None
    batches = FaceBatches(images, labels, targets, settings, class_weight, epoch=initial_epoch, teacher=teacher,
                          teacher_targets=fixed)
    val = (to_model_input(val_set.images), keras.utils.to_categorical(val_set.labels, num_classes))
    recorder = RunRecorder(run_dir, settings, best, elapsed, val=(val[0], val_set.labels),
                           calibration=swa.calibration_faces(images, settings.seed) if settings.swa_start else None)
    last_epoch = min(settings.epochs, stop_after) if stop_after else settings.epochs
    if initial_epoch < last_epoch:
        model.fit(batches, validation_data=val, epochs=last_epoch, initial_epoch=initial_epoch,
                  callbacks=[recorder], verbose=verbose)
    if last_epoch < settings.epochs:
        return None

    predictor = Predictor.load(run_dir / run_folder.MODEL_FILE)
    evaluation = write_evaluations(run_dir, predictor, val_set, settings.val_split, recorder.elapsed)
    write_model_card(run_dir)
    return evaluation
