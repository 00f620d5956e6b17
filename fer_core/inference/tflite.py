"""TFLite inference: the models run on the LiteRT interpreter (XNNPACK kernels), which classifies a face several times
faster than the same Keras model as a tf.function, with the same float32 outputs, and needs no TensorFlow.

Only conversion needs TensorFlow. A shipped model folder holds its converted model.tflite (fer_core.training.ship), so
inference never converts; other .keras files are converted on first use (SavedModel export, then TFLiteConverter,
seconds) and cached under $FER_CACHE_DIR (default ~/.cache/fer_core), keyed by the SHA-256 of the .keras file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.inference.preprocess import INPUT_SIZE
from fer_core.machine import usable_cores

CHUNK = 32  # faces per interpreter call; larger batches are split, which bounds the activations' memory


def available() -> bool:
    """True when Keras runs on TensorFlow, whose converter turns a Keras model into TFLite."""
    import keras

    return bool(keras.backend.backend() == "tensorflow")


def convert(model: Any) -> bytes:
    """The Keras model's inference function as a float32 TFLite flatbuffer (imports TensorFlow).

    ValueError when the converted graph writes variables: a layer was exported in training mode (batch norm after
    Keras's Resizing layer, for one), so its answers would depend on the batch and drift from call to call."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        content: bytes = tf.lite.TFLiteConverter.from_saved_model(saved).convert()
    if any(op["op_name"] == "ASSIGN_VARIABLE" for op in Interpreter(model_content=content)._get_ops_details()):
        raise ValueError(f"{model.name}: the converted model updates its own variables on each call (a layer was "
                         "exported in training mode)")
    return content


def file_digest(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("FER_CACHE_DIR") or Path.home() / ".cache" / "fer_core")


def _cache_file(keras_path: Path) -> Path:
    return cache_dir() / "tflite" / f"{file_digest(keras_path)}.tflite"


def cached_conversion(keras_path: Path) -> bytes | None:
    """The conversion of this exact .keras file that an earlier process cached, or None. Reading it needs no
    TensorFlow, so a process on another Keras backend (training on torch) still runs the file on LiteRT."""
    try:
        return _cache_file(keras_path).read_bytes()
    except OSError:
        return None


def converted(model: Any, keras_path: Path) -> bytes:
    """convert(model), read from the cache when this exact .keras file was converted before."""
    content = cached_conversion(keras_path)
    if content is not None:
        return content
    cached = _cache_file(keras_path)
    content = convert(model)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(content)
        partial.replace(cached)  # atomic: a concurrent reader sees no file or the whole file
    except OSError:
        pass  # a read-only home only costs the conversion next time
    return content


_first_interpreter = threading.Lock()
_announced = False


@contextlib.contextmanager
def _quiet_stderr_once() -> Iterator[None]:
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


def _make_interpreter(content: bytes, threads: int) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    with _quiet_stderr_once():
        interpreter = Interpreter(model_content=content, num_threads=threads)
        interpreter.allocate_tensors()  # the delegate, and its message, come with the first allocation
    return interpreter


# Interpreters per model: each holds a repacked copy of the weights (about 21 MB for the default model). Four keep
# 2 cores busy with room to spare; callers beyond them queue.
MAX_INTERPRETERS = 4


class TFLiteRunner:
    """(N, 48, 48, 1) float32 -> probabilities. Safe to call from several threads: an interpreter is not, so each
    call takes one from a shared pool and puts it back, and the pool only grows with calls that truly overlap.

    An interpreter holds its own copy of the weights, repacked for XNNPACK (21 MB for the default model), so there
    is one per concurrent call, never one per batch size: it is resized to each call's batch, which takes 0.1-0.2 ms
    once the largest batch has been seen.

    At most `max_interpreters` exist (default MAX_INTERPRETERS); a call beyond them waits for one to come back, so a
    burst of callers costs time, not memory.

    ValueError when content is not a TFLite model of (N, 48, 48, 1) faces; `outputs` is its number of classes."""

    def __init__(self, content: bytes, threads: int | None = None, max_interpreters: int | None = None):
        self.content = content
        self.threads = threads or usable_cores()
        self.max_interpreters = max_interpreters or MAX_INTERPRETERS
        self._free: list[list[Any]] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.max_interpreters)
        first = self._take()  # validates the model before the first call
        shape = tuple(first[0].get_input_details()[0]["shape"][1:])
        if shape != (INPUT_SIZE, INPUT_SIZE, 1):
            raise ValueError(f"expected input (48, 48, 1), got {shape}")
        self.outputs = int(first[0].get_output_details()[0]["shape"][-1])
        self._give_back(first)

    @property
    def pool_size(self) -> int:
        """Interpreters made so far that are idle now."""
        with self._lock:
            return len(self._free)

    def _take(self) -> list[Any]:
        """[interpreter, input index, output index, batch size it is allocated for]; waits while all
        max_interpreters are in use."""
        self._slots.acquire()
        try:
            with self._lock:
                if self._free:
                    return self._free.pop()
            interpreter = _make_interpreter(self.content, self.threads)
        except BaseException:
            self._slots.release()
            raise
        source = interpreter.get_input_details()[0]
        return [interpreter, source["index"], interpreter.get_output_details()[0]["index"], int(source["shape"][0])]

    def _give_back(self, entry: list[Any]) -> None:
        with self._lock:
            self._free.append(entry)
        self._slots.release()

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        outputs = []
        entry = self._take()
        interpreter, source, result = entry[:3]
        try:
            for start in range(0, len(faces), CHUNK):
                chunk = faces[start:start + CHUNK]
                if entry[3] != len(chunk):
                    interpreter.resize_tensor_input(source, [len(chunk), INPUT_SIZE, INPUT_SIZE, 1])
                    interpreter.allocate_tensors()
                    entry[3] = len(chunk)
                interpreter.set_tensor(source, chunk)
                interpreter.invoke()
                outputs.append(interpreter.get_tensor(result))
        finally:
            self._give_back(entry)
        return np.concatenate(outputs)
