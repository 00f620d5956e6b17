"""A loaded model wrapped for fast repeated inference: batches of faces in, probabilities out.

A shipped model folder (fer_core.training.ship) runs from its model.tflite on the LiteRT interpreter: loading it imports
neither TensorFlow nor Keras. Keras (and so TensorFlow) is imported only when a .keras file must be run or
converted, or when Grad-CAM asks for the Keras model (Predictor.model).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.errors import ModelLoadError, UsageError
from fer_core.inference import tflite
from fer_core.inference.preprocess import INPUT_SIZE
from fer_core.inference.tta import default_tta_mode, tta_mode, tta_views
from fer_core.labels import EMOTIONS
from fer_core.runs.folder import EVALUATION_FILES, INFERENCE_FILE, MODEL_FILE, SETTINGS_FILE, TFLITE_FILE
from fer_core.runs.registry import default_model_path

ENGINES = ("auto", "tflite", "function")
log = logging.getLogger(__name__)


def _compile(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """model(x, training=False) as a compiled function of the active backend (never model.predict)."""
    import keras

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

        def call(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))

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
    """The TTA mode recorded when the model was shipped (`ship --tta`), else the most accurate one by the evaluation
    files the training run wrote beside the model (best_tta_mode); without them, "none"."""
    try:
        settings = json.loads((model_path.parent / SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        settings = {}
    evaluations = {}
    for mode, name in EVALUATION_FILES.items():
        try:
            evaluations[mode] = json.loads((model_path.parent / name).read_text())
        except (OSError, ValueError):
            evaluations[mode] = None
    return default_tta_mode(settings if isinstance(settings, dict) else {}, evaluations)


def _check_keras_file(path: Path) -> None:
    if not path.is_file():
        hint = "" if path.parent.is_dir() else "; set FER_MODEL to a model file or FER_MODELS_DIR to a models folder"
        raise ModelLoadError(f"model file not found: {path}{hint}")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ModelLoadError(f"not a Keras .keras model file (truncated or wrong format): {path}")


def load_keras_model(path: str | os.PathLike[str]) -> Any:
    """The Keras model in a .keras file (imports Keras and TensorFlow); ModelLoadError when it is not one of ours."""
    import keras

    path = Path(path)
    _check_keras_file(path)
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise ModelLoadError(f"cannot load model {path}: {exc}") from exc
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if shape != (INPUT_SIZE, INPUT_SIZE, 1):
        raise ModelLoadError(f"{path}: expected input (48, 48, 1), got {model.input_shape}")
    return model


def inference_info(keras_path: Path, num_outputs: int) -> dict[str, Any]:
    """What running a converted model needs besides its weights, from the run files beside the .keras file."""
    return {"labels": list(read_labels(keras_path, num_outputs)), "tta_default": read_tta_default(keras_path),
            "input_shape": [INPUT_SIZE, INPUT_SIZE, 1], "keras_sha256": tflite.file_digest(keras_path)}


def _read_inference_info(folder: Path) -> dict[str, Any]:
    try:
        info: dict[str, Any] = json.loads((folder / INFERENCE_FILE).read_text())
        return info
    except (OSError, ValueError):
        return {}


def shipped_tflite(keras_path: Path) -> Path | None:
    """The model.tflite beside a .keras file when it was converted from exactly that file (its inference file
    records the .keras file's hash); None when there is none or it is stale."""
    converted = keras_path.parent / TFLITE_FILE
    if not converted.is_file():
        return None
    if _read_inference_info(keras_path.parent).get("keras_sha256") == tflite.file_digest(keras_path):
        return converted
    log.warning("%s was not converted from %s; converting that file instead", converted, keras_path)
    return None


def _check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    return engine


class Predictor:
    """Probabilities for batches of preprocessed faces; safe to call from several threads at once.

    engine: "tflite" (the LiteRT interpreter, the fastest on CPU), "function" (the backend's compiled function) or
    "auto" (TFLite where a converted model exists or the backend can convert, else the compiled function).
    model: a Keras model; or None with tflite_runner, a converted model, and source, the .keras file it came from.
    `.model` is the Keras model, loaded from source on first use (Grad-CAM needs it). `source` also keys the cache
    of converted models. tta_default: the test-time augmentation mode (fer_core.inference.tta) for callers that do
    not choose.
    """

    def __init__(self, model: Any = None, labels: Sequence[str] = EMOTIONS, max_batch: int = 256, name: str = "",
                 engine: str = "auto", source: Path | None = None, tta_default: str = "none",
                 tflite_runner: tflite.TFLiteRunner | None = None):
        _check_engine(engine)
        if model is None and tflite_runner is None:
            raise ValueError("give a Keras model or a converted TFLite model")
        self._model = model
        self._model_lock = threading.Lock()
        self.source = Path(source) if source else None
        self.labels = tuple(labels)
        self.name = name or (model.name if model is not None else "model")
        self.max_batch = max_batch
        self.tta_default = tta_mode(tta_default)
        self._fn: Callable[[np.ndarray], np.ndarray] | None = None
        if tflite_runner is not None:
            if engine == "function":
                raise ValueError("a converted TFLite model runs on the tflite engine only")
            self._fn, self.engine = tflite_runner, "tflite"
            return
        self.engine = "function"
        if engine != "function":
            try:
                content = tflite.cached_conversion(self.source) if self.source else None
                if content is None:
                    if not tflite.available():
                        raise RuntimeError("converting to TFLite needs Keras on the tensorflow backend")
                    content = tflite.converted(model, self.source) if self.source else tflite.convert(model)
                self._fn, self.engine = tflite.TFLiteRunner(content), "tflite"
            except Exception as exc:
                if engine == "tflite":
                    raise
                log.warning("TFLite unavailable (%s); using the compiled function", exc)
        if self._fn is None:
            self._fn = _compile(model)

    @property
    def model(self) -> Any:
        """The Keras model (imports TensorFlow when it was not loaded yet)."""
        with self._model_lock:
            if self._model is None:
                if self.source is None:
                    raise ModelLoadError(f"{self.name}: no .keras file beside the converted model")
                self._model = load_keras_model(self.source)
            return self._model

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, engine: str | None = None) -> Predictor:
        """The model at path, a .keras or .tflite file (default: the shipped one); engine defaults to $FER_ENGINE,
        else "auto". A .keras file with its converted model.tflite beside it runs from that, without TensorFlow."""
        path = Path(path) if path else default_model_path()
        engine = _check_engine(engine or os.environ.get("FER_ENGINE", "auto"))  # before any model is read
        name = path.parent.name if path.name in (MODEL_FILE, TFLITE_FILE) else path.stem
        if path.suffix == ".tflite":
            return cls._from_tflite(path, path.with_suffix(".keras"), name, engine)
        if not path.exists() and (path.parent / TFLITE_FILE).is_file() and engine != "function":
            return cls._from_tflite(path.parent / TFLITE_FILE, path, name, engine)  # a folder that ships no .keras
        _check_keras_file(path)
        converted = shipped_tflite(path) if engine != "function" else None
        if converted:
            return cls._from_tflite(converted, path, name, engine)
        model = load_keras_model(path)
        labels = read_labels(path, int(model.output_shape[-1]))
        return cls(model, labels, name=name, engine=engine, source=path, tta_default=read_tta_default(path))

    @classmethod
    def _from_tflite(cls, path: Path, keras_path: Path, name: str, engine: str) -> Predictor:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ModelLoadError(f"model file not found: {path}") from exc
        try:
            runner = tflite.TFLiteRunner(content)
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"not a TFLite model of 48x48 gray faces: {path} ({exc})") from exc
        info = _read_inference_info(path.parent)
        labels: Sequence[str] | None = info.get("labels")
        if labels is None or len(labels) != runner.outputs:
            labels = read_labels(path, runner.outputs)
        return cls(None, labels, name=name, engine=engine, source=keras_path if keras_path.is_file() else None,
                   tta_default=info.get("tta_default") or read_tta_default(path), tflite_runner=runner)

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
        run = self._fn
        assert run is not None  # set by __init__ on every path
        out = np.concatenate([run(flat[i:i + self.max_batch]) for i in range(0, len(flat), self.max_batch)])
        probabilities: np.ndarray = out.reshape(len(views), len(faces), -1).mean(axis=0).astype(np.float32, copy=False)
        return probabilities
