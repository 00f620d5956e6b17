"""TFLite inference: the models run on the LiteRT interpreter (XNNPACK kernels), which classifies a face several times
faster than the same Keras model as a tf.function, with the same float32 outputs, and needs no TensorFlow.

Only conversion needs TensorFlow. A shipped model folder holds its converted model.tflite (fer_core.ship), so
inference never converts; other .keras files are converted on first use (SavedModel export, then TFLiteConverter,
seconds) and cached under $FER_CACHE_DIR (default ~/.cache/fer_core), keyed by the SHA-256 of the .keras file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from .machine import usable_cores
from .preprocess import INPUT_SIZE

CHUNK = 32  # faces per interpreter call; larger batches are split
EXACT_UP_TO = 8  # batch sizes the live path sees (1-8 faces) each get an interpreter; larger ones are padded


def available() -> bool:
    """True when Keras runs on TensorFlow, whose converter turns a Keras model into TFLite."""
    import keras

    return keras.backend.backend() == "tensorflow"


def convert(model) -> bytes:
    """The Keras model's inference function as a float32 TFLite flatbuffer (imports TensorFlow)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(saved).convert()


def file_digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("FER_CACHE_DIR") or Path.home() / ".cache" / "fer_core")


def converted(model, keras_path: Path) -> bytes:
    """convert(model), read from the cache when this exact .keras file was converted before."""
    cached = cache_dir() / "tflite" / f"{file_digest(keras_path)}.tflite"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    content = convert(model)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(content)
        partial.replace(cached)  # atomic: a concurrent reader sees no file or the whole file
    except OSError:
        pass  # a read-only home only costs the conversion next time
    return content


def bucket(n: int) -> int:
    """The interpreter batch size that serves n faces (n <= CHUNK)."""
    if n <= EXACT_UP_TO:
        return n
    return min(CHUNK, 1 << (n - 1).bit_length())


_first_interpreter = threading.Lock()
_announced = False


@contextlib.contextmanager
def _quiet_stderr_once():
    """LiteRT writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." straight to file descriptor 2 when a
    process makes its first interpreter, and no setting silences it. Command-line tools must print only their own
    messages, so descriptor 2 points at /dev/null while that first interpreter is made."""
    global _announced
    with _first_interpreter:
        if _announced:
            yield
            return
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as sink:
                os.dup2(sink.fileno(), 2)
                try:
                    yield
                finally:
                    os.dup2(saved, 2)
        finally:
            os.close(saved)
        _announced = True


def _make_interpreter(content: bytes, threads: int):
    from ai_edge_litert.interpreter import Interpreter

    with _quiet_stderr_once():
        interpreter = Interpreter(model_content=content, num_threads=threads)
        interpreter.allocate_tensors()  # the delegate, and its message, come with the first allocation
    return interpreter


class TFLiteRunner:
    """(N, 48, 48, 1) float32 -> probabilities. Safe to call from several threads: an interpreter is not, so each
    call takes one of the batch size it needs from a shared pool and puts it back. The pool only grows with calls
    that really run at the same time, so memory does not grow with the number of threads a server starts.

    ValueError when content is not a TFLite model of (N, 48, 48, 1) faces; `outputs` is its number of classes."""

    def __init__(self, content: bytes, threads: int | None = None):
        self.content = content
        self.threads = threads or usable_cores()
        self._free: dict[int, list] = {}
        self._lock = threading.Lock()
        first = self._take(1)  # validates the model; the camera's one-face frames use it next
        interpreter = first[0]
        shape = tuple(interpreter.get_input_details()[0]["shape"][1:])
        if shape != (INPUT_SIZE, INPUT_SIZE, 1):
            raise ValueError(f"expected input (48, 48, 1), got {shape}")
        self.outputs = int(interpreter.get_output_details()[0]["shape"][-1])
        self._give_back(1, first)

    def _take(self, size: int):
        with self._lock:
            free = self._free.setdefault(size, [])
            if free:
                return free.pop()
        interpreter = _make_interpreter(self.content, self.threads)
        source, result = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
        interpreter.resize_tensor_input(source, [size, INPUT_SIZE, INPUT_SIZE, 1])
        interpreter.allocate_tensors()
        return interpreter, source, result

    def _give_back(self, size: int, entry) -> None:
        with self._lock:
            self._free.setdefault(size, []).append(entry)

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        outputs = []
        for start in range(0, len(faces), CHUNK):
            chunk = faces[start:start + CHUNK]
            size = bucket(len(chunk))
            if size != len(chunk):
                chunk = np.concatenate([chunk, np.zeros((size - len(chunk), *chunk.shape[1:]), np.float32)])
            entry = self._take(size)
            interpreter, source, result = entry
            try:
                interpreter.set_tensor(source, chunk)
                interpreter.invoke()
                outputs.append(interpreter.get_tensor(result)[: len(faces) - start].copy())
            finally:
                self._give_back(size, entry)
        return np.concatenate(outputs)
