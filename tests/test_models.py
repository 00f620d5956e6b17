import json

import numpy as np
import pytest

from fer_core.inference.predictor import ModelLoadError, Predictor, load_keras_model
from fer_core.training.architectures import ARCHITECTURES, build_model


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_architectures_build_and_output_probabilities(arch):
    model = build_model(arch, num_classes=7)
    assert model.input_shape == (None, 48, 48, 1)
    assert model.output_shape == (None, 7)
    x = np.random.default_rng(0).random((3, 48, 48, 1), dtype=np.float32)
    p = np.asarray(model(x, training=False))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_mini_xception_is_about_60k_parameters():
    assert 50_000 <= build_model("mini_xception").count_params() <= 70_000
    assert build_model("mini_xception", num_classes=3).output_shape == (None, 3)


def test_vgg_khaireddin_has_the_papers_shape():
    model = build_model("vgg_khaireddin")
    dense = [layer.units for layer in model.layers if layer.__class__.__name__ == "Dense"]
    convs = [layer.filters for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert convs == [64, 64, 128, 128, 256, 256, 512, 512]
    assert dense == [4096, 4096, 7]
    assert 40_000_000 <= model.count_params() <= 41_000_000


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("resnet9000")


def test_save_load_round_trip_and_predictor_matches_model(tmp_path):
    model = build_model("mini_xception")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = load_keras_model(path)
    x = np.random.default_rng(1).random((5, 48, 48, 1), dtype=np.float32)
    expected = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), expected, atol=1e-6)
    predictor = Predictor.load(path)
    np.testing.assert_allclose(predictor.predict_proba(x), expected, atol=1e-5)
    assert predictor.predict_proba(x[:0]).shape == (0, 7)
    mirrored = predictor.predict_proba(x[:, :, ::-1])
    np.testing.assert_allclose(predictor.predict_proba(x, tta=True), (expected + mirrored) / 2, atol=1e-5)


def test_predictor_batches_larger_than_its_chunk(tmp_path):
    model = build_model("mini_xception")
    predictor = Predictor(model, max_batch=4)
    x = np.random.default_rng(2).random((10, 48, 48, 1), dtype=np.float32)
    np.testing.assert_allclose(predictor.predict_proba(x), np.asarray(model(x, training=False)), atol=1e-5)


def test_bad_model_files_raise_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        Predictor.load(tmp_path / "missing.keras")
    model_path = tmp_path / "good.keras"
    build_model("mini_xception").save(model_path)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(model_path.read_bytes()[:2000])
    with pytest.raises(ModelLoadError):
        Predictor.load(truncated)
    text = tmp_path / "text.keras"
    text.write_text("not a model")
    with pytest.raises(ModelLoadError):
        Predictor.load(text)


def test_subset_model_reads_its_labels_from_the_run_settings(tmp_path):
    import json

    build_model("mini_xception", num_classes=3).save(tmp_path / "model.keras")
    with pytest.raises(ModelLoadError):
        Predictor.load(tmp_path / "model.keras")
    (tmp_path / "settings.json").write_text(json.dumps({"classes": ["happy", "sad", "neutral"]}))
    assert Predictor.load(tmp_path / "model.keras").labels == ("happy", "sad", "neutral")


def test_a_model_for_other_inputs_is_refused(tmp_path):
    import keras

    inputs = keras.Input((32, 32, 3))
    other = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(inputs)))
    other.save(tmp_path / "other.keras")
    with pytest.raises(ModelLoadError, match="expected input"):
        Predictor.load(tmp_path / "other.keras")


def _run_with_accuracies(folder, plain, mirrored, multi=None):
    build_model("mini_xception").save(folder / "model.keras")
    (folder / "evaluation.json").write_text(json.dumps({"accuracy": plain}))
    (folder / "evaluation_mirror.json").write_text(json.dumps({"accuracy": mirrored}))
    if multi is not None:
        (folder / "evaluation_multi.json").write_text(json.dumps({"accuracy": multi}))
    return folder / "model.keras"


@pytest.mark.parametrize(("plain", "mirrored", "multi", "expected"), [
    (0.50, 0.51, None, "mirror"), (0.51, 0.50, None, "none"), (0.50, 0.50, None, "none"),
    (0.50, 0.51, 0.52, "multi"), (0.50, 0.52, 0.52, "mirror"), (0.53, 0.51, 0.52, "none"),
])
def test_the_default_tta_mode_is_the_most_accurate_recorded_one(tmp_path, plain, mirrored, multi, expected):
    from fer_core.inference.pipeline import Analyzer

    predictor = Predictor.load(_run_with_accuracies(tmp_path, plain, mirrored, multi), engine="function")
    assert predictor.tta_default == expected
    assert Analyzer(predictor).tta == expected
    assert Analyzer(predictor, tta="none").tta == "none"
    assert Analyzer(predictor, tta=True).tta == "mirror"
    x = np.random.default_rng(3).random((4, 48, 48, 1), dtype=np.float32)
    np.testing.assert_allclose(predictor.predict_proba(x, tta=None), predictor.predict_proba(x, tta=expected))


def test_without_evaluation_files_tta_is_off(tmp_path):
    build_model("mini_xception").save(tmp_path / "model.keras")
    assert Predictor.load(tmp_path / "model.keras", engine="function").tta_default == "none"


def test_multi_view_tta_averages_the_model_over_its_views(tmp_path):
    from fer_core.inference.tta import tta_views

    model = build_model("mini_xception")
    predictor = Predictor(model, max_batch=7, engine="function")  # chunks that cut across views
    x = np.random.default_rng(4).random((5, 48, 48, 1), dtype=np.float32)
    views = tta_views(x, "multi")
    expected = np.mean([np.asarray(model(view, training=False)) for view in views], axis=0)
    np.testing.assert_allclose(predictor.predict_proba(x, tta="multi"), expected, atol=1e-5)
    assert not np.allclose(predictor.predict_proba(x, tta="multi"), predictor.predict_proba(x, tta="mirror"),
                           atol=1e-4)


def test_the_servers_runs_come_from_the_folders_its_operator_names(tmp_path, monkeypatch):
    import os

    from fer_core.runs.registry import server_runs

    for folder, name in (("a", "run_1"), ("b", "run_2"), ("b", "not_a_run")):
        (tmp_path / folder / name).mkdir(parents=True)
        if name.startswith("run"):
            (tmp_path / folder / name / "settings.json").write_text("{}")
    monkeypatch.delenv("FER_RUNS_DIR", raising=False)
    assert server_runs() == []
    monkeypatch.setenv("FER_RUNS_DIR", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    assert [run.name for run in server_runs()] == ["run_1", "run_2"]
