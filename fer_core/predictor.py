"""A loaded model wrapped for fast repeated inference: one compiled function, batches in, probabilities out."""

from __future__ import annotations

import json
import logging
import os
import zipfile
from pathlib import Path

import keras
import numpy as np

from .labels import EMOTIONS
from .paths import EVALUATION_FILES, SETTINGS_FILE, default_model_path
from .preprocess import INPUT_SIZE
from .tta import best_tta_mode, tta_mode, tta_views

ENGINES = ("auto", "tflite", "function")
log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """The model file is missing, truncated or not a FER model."""


def _compile(model: keras.Model):
    """model(x, training=False) as a compiled function of the active backend (never model.predict)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 1], tf.float32)
        fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        return lambda x: fn(x).numpy()
    if backend == "jax":
        import jax

        jitted = jax.jit(lambda x: model(x, training=False))
        return lambda x: np.asarray(jitted(x))
    if backend == "torch":
        import torch

        def call(x):
            with torch.no_grad():
                return keras.ops.convert_to_numpy(model(x, training=False))

        return call
    return lambda x: keras.ops.convert_to_numpy(model(x, training=False))


def read_labels(model_path: Path, num_outputs: int) -> tuple[str, ...]:
    """Class names from the run's settings file beside the model; seven outputs default to EMOTIONS."""
    settings = model_path.parent / SETTINGS_FILE
    if settings.is_file():
        classes = json.loads(settings.read_text()).get("classes")
        if classes and len(classes) == num_outputs:
            return tuple(classes)
    if num_outputs == len(EMOTIONS):
        return EMOTIONS
    raise ModelLoadError(f"{model_path}: {num_outputs} outputs and no {SETTINGS_FILE} naming its classes")


def read_tta_default(model_path: Path) -> str:
    """The most accurate TTA mode by the evaluation files the training run wrote beside the model (best_tta_mode);
    without them, "none"."""
    evaluations = {}
    for mode, name in EVALUATION_FILES.items():
        try:
            evaluations[mode] = json.loads((model_path.parent / name).read_text())
        except (OSError, ValueError):
            evaluations[mode] = None
    return best_tta_mode(evaluations)


def load_keras_model(path) -> keras.Model:
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ModelLoadError(f"not a Keras .keras model file (truncated or wrong format): {path}")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise ModelLoadError(f"cannot load model {path}: {exc}") from exc
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if shape != (INPUT_SIZE, INPUT_SIZE, 1):
        raise ModelLoadError(f"{path}: expected input (48, 48, 1), got {model.input_shape}")
    return model


def _tflite_runner(model: keras.Model, source: Path | None):
    from . import tflite

    if not tflite.available():
        raise RuntimeError(f"TFLite needs the tensorflow backend with tf.lite (backend: {keras.backend.backend()})")
    return tflite.TFLiteRunner(tflite.converted(model, source) if source else tflite.convert(model))


class Predictor:
    """Probabilities for batches of preprocessed faces; safe to call from several threads at once.

    engine: "tflite" (TFLite interpreter, the fastest on CPU), "function" (the backend's compiled function) or
    "auto" (TFLite where the backend allows it, else the compiled function). The Keras model stays available as
    `.model` (Grad-CAM needs it). `source` is the .keras file, which keys the cache of converted models.
    tta_default: the test-time augmentation mode (fer_core.tta) for callers that do not choose (see read_tta_default).
    """

    def __init__(self, model: keras.Model, labels=EMOTIONS, max_batch: int = 256, name: str = "",
                 engine: str = "auto", source: Path | None = None, tta_default: str = "none"):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        self.model = model
        self.labels = tuple(labels)
        self.name = name or model.name
        self.max_batch = max_batch
        self.tta_default = tta_mode(tta_default)
        self.engine = "function"
        self._fn = None
        if engine != "function":
            try:
                self._fn, self.engine = _tflite_runner(model, source), "tflite"
            except Exception as exc:
                if engine == "tflite":
                    raise
                expected = keras.backend.backend() != "tensorflow"  # TFLite needs TensorFlow; not a fault
                (log.info if expected else log.warning)("TFLite unavailable (%s); using the compiled function", exc)
        if self._fn is None:
            self._fn = _compile(model)

    @classmethod
    def load(cls, path=None, engine: str | None = None) -> Predictor:
        """The model at path (default: the shipped one); engine defaults to $FER_ENGINE, else "auto"."""
        path = Path(path) if path else default_model_path()
        model = load_keras_model(path)
        labels = read_labels(path, int(model.output_shape[-1]))
        return cls(model, labels, name=path.parent.name if path.name == "model.keras" else path.stem,
                   engine=engine or os.environ.get("FER_ENGINE", "auto"), source=path,
                   tta_default=read_tta_default(path))

    def predict_proba(self, faces: np.ndarray, tta: str | bool | None = "none") -> np.ndarray:
        """float32 (N, 48, 48, 1) faces -> (N, len(labels)) probabilities, averaged over the views of the TTA mode
        ("none", "mirror", "multi"; a bool means mirror or none; None: the model's tta_default)."""
        mode = self.tta_default if tta is None else tta_mode(tta)
        faces = np.ascontiguousarray(faces, dtype=np.float32)
        if faces.ndim != 4 or faces.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 1):
            raise ValueError(f"expected (N, 48, 48, 1) faces, got {faces.shape}")
        if len(faces) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        views = tta_views(faces, mode)
        flat = views.reshape(-1, *faces.shape[1:])
        out = np.concatenate([self._fn(flat[i:i + self.max_batch]) for i in range(0, len(flat), self.max_batch)])
        return out.reshape(len(views), len(faces), -1).mean(axis=0).astype(np.float32, copy=False)
