"""Inference runs the shipped models' converted files without TensorFlow, with Keras's outputs, on every CPU."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fer_core
from fer_core.inference import tflite
from fer_core.inference.predictor import ModelLoadError, Predictor, load_keras_model
from fer_core.runs import folder as run_folder
from fer_core.runs import registry
from fer_core.training.ship import write_converted_model
from helpers import REPO_ROOT

APP_MODELS = sorted({registry.default_model_path(), registry.camera_model_path()})


def run_python(code: str, **env_changes) -> subprocess.CompletedProcess:
    """code in a fresh interpreter, with TensorFlow's oneDNN switch left at its default unless env_changes sets it."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"} | env_changes
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    return proc


@pytest.mark.parametrize("model_path", APP_MODELS, ids=lambda p: p.parent.name)
def test_the_app_models_ship_a_converted_file_of_their_own_weights(model_path):
    info = json.loads((model_path.parent / run_folder.INFERENCE_FILE).read_text())
    assert info["keras_sha256"] == tflite.file_digest(model_path), "model.tflite is stale: run ship --in-place"
    predictor = Predictor.load(model_path)
    assert predictor.engine == "tflite" and predictor._model is None  # the Keras model was not loaded
    assert predictor.labels == tuple(info["labels"]) and predictor.tta_default == info["tta_default"]


@pytest.mark.parametrize("model_path", APP_MODELS, ids=lambda p: p.parent.name)
def test_the_converted_file_gives_keras_float32_probabilities(model_path):
    faces = np.random.default_rng(0).random((37, 48, 48, 1), dtype=np.float32)
    reference = np.asarray(load_keras_model(model_path)(faces, training=False))
    converted = Predictor.load(model_path)
    np.testing.assert_allclose(converted.predict_proba(faces), reference, atol=1e-5)
    for n in (1, 2, 5, 9):
        np.testing.assert_allclose(converted.predict_proba(faces[:n]), reference[:n], atol=1e-5)


def test_inference_paths_import_neither_tensorflow_nor_keras(tmp_path):
    code = f"""
import sys
import numpy as np
import fer_core
from fer_core.inference.live import LiveAnalyzer
from fer_core.inference.video import process_video

image = np.full((240, 320, 3), 128, np.uint8)
print(len(fer_core.analyze(image)), fer_core.default_analyzer().predictor.engine)
live = LiveAnalyzer()
for _ in range(3):
    live.process(image)
clip = {str(tmp_path / "clip.mp4")!r}
import av
with av.open(clip, "w") as out:
    stream = out.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
    for _ in range(5):
        out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
    out.mux(stream.encode())
process_video(clip, None, {str(tmp_path / "clip.csv")!r}, 1, live.analyzer.predictor)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print("LOADED", loaded[:5])
"""
    proc = run_python(code)
    assert "LOADED []" in proc.stdout
    assert proc.stdout.splitlines()[0] == "0 tflite"


def test_grad_cam_runs_on_every_shipped_model_with_onednn_at_its_default():
    """On AVX-512 CPUs TensorFlow turns oneDNN's custom operations on by default and Grad-CAM's gradients crash
    the process; fer_core switches them off before TensorFlow loads. One process, every model, as the app does."""
    models = sorted(registry.MODELS_DIR.glob(f"*/{run_folder.MODEL_FILE}"))
    assert registry.default_model_path() in models
    code = f"""
import os
import numpy as np
import fer_core
from fer_core.inference.explain import cam_networks, saliency
from fer_core.inference.predictor import Predictor

assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0" and not fer_core.ONEDNN_MAY_BE_ON
crop = np.random.default_rng(0).integers(0, 256, (90, 70, 3), dtype=np.uint8)
for path in {[str(p) for p in models]!r}:
    predictor = Predictor.load(path)
    assert cam_networks(predictor.model), path
    for emotion in ("happy", "sad"):
        heat = saliency(predictor, crop, emotion)
        assert heat.shape == (90, 70) and np.isfinite(heat).all() and 0 <= heat.min() <= heat.max() <= 1, path
    print("ok", path)
"""
    proc = run_python(code, TF_CPP_MIN_LOG_LEVEL="0")
    assert proc.stdout.count("ok ") == len(models)
    assert "oneDNN custom operations are on" not in proc.stderr


def test_tensorflow_loaded_before_fer_core_makes_saliency_avoid_gradients():
    code = """
import numpy as np
import tensorflow
import fer_core
from fer_core.inference import explain
from fer_core.inference.predictor import Predictor

assert fer_core.ONEDNN_MAY_BE_ON
def no_gradients(*args):
    raise AssertionError("Grad-CAM ran although oneDNN may be on")
explain.grad_cam = no_gradients
crop = np.random.default_rng(0).integers(0, 256, (60, 60, 3), dtype=np.uint8)
heat = explain.saliency(Predictor.load(fer_core.runs.registry.camera_model_path()), crop, "happy")
print(heat.shape)
"""
    assert run_python(code).stdout.strip() == "(60, 60)"


@pytest.fixture(scope="module")
def shipped_copy(tiny_model, tmp_path_factory):
    """The tiny model's run folder with a converted model written beside it, as ship writes one."""
    folder = tmp_path_factory.mktemp("shipped") / "tiny"
    shutil.copytree(tiny_model.parent, folder, ignore=shutil.ignore_patterns("checkpoint"))
    write_converted_model(folder)
    return folder


def test_a_tflite_file_loads_alone_and_fetches_its_keras_model_only_when_asked(shipped_copy):
    predictor = Predictor.load(shipped_copy / run_folder.TFLITE_FILE)
    assert predictor.engine == "tflite" and predictor.name == "tiny" and predictor._model is None
    faces = np.random.default_rng(1).random((4, 48, 48, 1), dtype=np.float32)
    reference = np.asarray(predictor.model(faces, training=False))  # loads model.keras beside it
    np.testing.assert_allclose(predictor.predict_proba(faces), reference, atol=1e-5)
    with pytest.raises(ValueError, match="tflite engine only"):
        Predictor.load(shipped_copy / run_folder.TFLITE_FILE, engine="function")
    assert Predictor.load(shipped_copy / run_folder.MODEL_FILE, engine="function").engine == "function"


def test_a_stale_converted_file_is_not_used(shipped_copy, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    stale = tmp_path / "stale"
    shutil.copytree(shipped_copy, stale)
    info = json.loads((stale / run_folder.INFERENCE_FILE).read_text())
    (stale / run_folder.INFERENCE_FILE).write_text(json.dumps(info | {"keras_sha256": "0" * 64}))
    (stale / run_folder.TFLITE_FILE).write_bytes(b"not the model any more")
    predictor = Predictor.load(stale / run_folder.MODEL_FILE)
    assert predictor.engine == "tflite" and predictor._model is not None  # converted from the .keras file
    assert "was not converted from" in caplog.text


@pytest.mark.parametrize("content", [b"", b"not a flatbuffer" * 10])
def test_a_broken_tflite_file_is_a_model_load_error(tmp_path, content):
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="not a TFLite model"):
        Predictor.load(path)
    with pytest.raises(ModelLoadError, match="not found"):
        Predictor.load(tmp_path / "missing.tflite")


def test_the_first_interpreter_does_not_write_to_stderr():
    code = """
import numpy as np
from fer_core.inference.predictor import Predictor
from fer_core.runs.registry import camera_model_path
Predictor.load(camera_model_path()).predict_proba(np.zeros((3, 48, 48, 1), np.float32))
print("done")
"""
    proc = run_python(code)
    assert proc.stdout.strip() == "done" and proc.stderr == ""


def test_the_package_exposes_its_stable_api():
    for name in ("analyze", "Analyzer", "Predictor", "preprocess_faces", "draw_results", "FaceResult", "Box",
                 "DetectorConfig", "LiveAnalyzer"):
        assert hasattr(fer_core, name), name
    assert fer_core.__version__


def test_a_folder_that_ships_only_the_converted_model_still_runs(shipped_copy, tmp_path):
    folder = tmp_path / "tflite_only"
    shutil.copytree(shipped_copy, folder, ignore=shutil.ignore_patterns("*.keras"))
    predictor = Predictor.load(folder / run_folder.MODEL_FILE)
    assert predictor.engine == "tflite"
    assert predictor.predict_proba(np.zeros((2, 48, 48, 1), np.float32)).shape == (2, 7)
    with pytest.raises(ModelLoadError, match="no .keras file"):
        _ = predictor.model
