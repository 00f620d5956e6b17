import numpy as np
import pytest

from fer_core.inference import tflite
from fer_core.inference.predictor import Predictor


@pytest.fixture(scope="module")
def engines(tiny_model):
    return Predictor.load(tiny_model, engine="tflite"), Predictor.load(tiny_model, engine="function")


@pytest.mark.parametrize("n", [1, 3, 8, 9, 20, 32, 33, 70])
def test_tflite_matches_the_compiled_function_for_every_batch_size(engines, n):
    fast, reference = engines
    assert (fast.engine, reference.engine) == ("tflite", "function")
    x = np.random.default_rng(n).random((n, 48, 48, 1), dtype=np.float32)
    np.testing.assert_allclose(fast.predict_proba(x), reference.predict_proba(x), atol=1e-5)
    np.testing.assert_allclose(fast.predict_proba(x, tta=True), reference.predict_proba(x, tta=True), atol=1e-5)


def test_one_interpreter_serves_every_batch_size_and_overlapping_calls_get_their_own(tiny_model):
    from concurrent.futures import ThreadPoolExecutor

    runner = Predictor.load(tiny_model, engine="tflite")._fn
    x = np.random.default_rng(0).random((40, 48, 48, 1), dtype=np.float32)
    alone = [runner(x[:n]) for n in (1, 6, 40, 2, 33)]
    assert runner.pool_size == 1  # resized for each batch, not one interpreter per size
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda n: runner(x[:n]), [1, 6, 40, 2, 33] * 8))
    assert 1 <= runner.pool_size <= 4
    for got, want in zip(together, alone * 8, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_burst_beyond_the_interpreter_cap_queues_and_gets_the_same_answers(tiny_model):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    content = Predictor.load(tiny_model, engine="tflite")._fn.content
    runner = tflite.TFLiteRunner(content, threads=1, max_interpreters=2)
    made, overlapping, peak, lock = [], [0], [0], threading.Lock()
    make = tflite._make_interpreter

    def counted(*args):
        made.append(1)
        return make(*args)

    x = np.random.default_rng(1).random((16, 48, 48, 1), dtype=np.float32)
    alone = runner(x)

    def call(_):
        with lock:
            overlapping[0] += 1
            peak[0] = max(peak[0], overlapping[0])
        try:
            return runner(x)
        finally:
            with lock:
                overlapping[0] -= 1

    original, tflite._make_interpreter = tflite._make_interpreter, counted
    try:
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(call, range(48)))
    finally:
        tflite._make_interpreter = original
    assert peak[0] > 2  # more callers at once than interpreters
    assert len(made) <= 1 and runner.pool_size == 2  # one existed; at most one more was made for the burst
    for answer in answers:
        np.testing.assert_array_equal(answer, alone)


def test_converted_models_are_cached_by_the_model_file_hash(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path))
    predictor = Predictor.load(tiny_model)
    assert predictor.engine == "tflite"
    cached = list((tmp_path / "tflite").glob("*.tflite"))
    assert len(cached) == 1 and cached[0].read_bytes() == predictor._fn.content

    def no_conversion(model):
        raise AssertionError("converted again although the cache holds this model")

    monkeypatch.setattr(tflite, "convert", no_conversion)
    assert Predictor.load(tiny_model).engine == "tflite"


def test_a_backend_that_cannot_convert_runs_a_cached_conversion(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tflite, "available", lambda: False)  # as when Keras runs on torch
    assert Predictor.load(tiny_model).engine == "function"  # nothing cached yet
    monkeypatch.undo()
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path))
    reference = Predictor.load(tiny_model)  # converts on TensorFlow and caches the file
    monkeypatch.setattr(tflite, "available", lambda: False)
    predictor = Predictor.load(tiny_model)
    assert predictor.engine == "tflite" and predictor._fn.content == reference._fn.content


def test_unknown_engine_is_refused(tiny_model):
    with pytest.raises(ValueError, match="unknown engine"):
        Predictor.load(tiny_model, engine="gpu")


def test_auto_falls_back_to_the_compiled_function_when_tflite_fails(tiny_model, monkeypatch, tmp_path):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path))

    def broken(model):
        raise RuntimeError("no converter here")

    monkeypatch.setattr(tflite, "convert", broken)
    assert Predictor.load(tiny_model).engine == "function"
    with pytest.raises(RuntimeError, match="no converter"):
        Predictor.load(tiny_model, engine="tflite")


def test_a_model_whose_conversion_would_update_its_statistics_on_each_call_is_refused():
    # Keras's Resizing layer leaves the batch norm after it in training mode in the SavedModel export.
    import keras

    faces = keras.Input((48, 48, 1))
    x = keras.layers.Resizing(96, 96)(faces)
    x = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(x))
    stateful = keras.Model(faces, keras.layers.GlobalAveragePooling2D()(x), name="stateful")
    with pytest.raises(ValueError, match="updates its own variables"):
        tflite.convert(stateful)
