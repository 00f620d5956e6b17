import csv
import json

import keras
import numpy as np
import pytest
from keras import layers

from fer_core.inference.preprocess import to_model_input
from fer_core.training import swa
from fer_core.training.train import TrainSettings, train


def _history(run):
    with open(run / "history.csv") as f:
        return list(csv.DictReader(f))


def test_weight_average_is_the_running_mean_and_survives_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    snapshots = [[rng.normal(size=(3, 4)), rng.normal(size=5)] for _ in range(4)]
    average = swa.WeightAverage()
    for weights in snapshots:
        average.add(weights)
    assert average.count == 4
    for i in range(2):
        np.testing.assert_allclose(average.mean[i], np.mean([s[i] for s in snapshots], axis=0), atol=1e-12)
    average.save(tmp_path / "swa.npz")
    loaded = swa.WeightAverage.load(tmp_path / "swa.npz")
    assert loaded.count == 4
    for ours, theirs in zip(loaded.mean, average.mean, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def _no_dropout_net():
    inputs = keras.Input((48, 48, 1))
    x = layers.Conv2D(4, 3, strides=2, use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(6, 3, strides=2, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(5, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x))


def test_recalibrated_batch_norm_matches_batch_statistics_over_the_calibration_faces():
    keras.utils.set_random_seed(1)
    model = _no_dropout_net()
    faces = np.random.default_rng(2).integers(0, 256, size=(96, 48, 48), dtype=np.uint8)
    x = to_model_input(faces)
    # Fresh moving statistics (mean 0, variance 1) are far from these inputs' own.
    stale = keras.ops.convert_to_numpy(model(x, training=False))
    with_batch_stats = keras.ops.convert_to_numpy(model(x, training=True))
    assert not np.allclose(stale, with_batch_stats, atol=1e-3)
    keras.utils.set_random_seed(1)
    model = _no_dropout_net()
    swa.recalibrate_batch_norm(model, faces)
    # Training mode normalizes each layer by the statistics of this very batch, which is what recalibration
    # measured over the same faces, layer after layer.
    recalibrated = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(recalibrated, with_batch_stats, atol=1e-4)


def test_calibration_faces_are_a_fixed_sample():
    images = np.arange(50 * 2 * 2, dtype=np.uint8).reshape(50, 2, 2)
    first = swa.calibration_faces(images, seed=3, limit=10)
    np.testing.assert_array_equal(first, swa.calibration_faces(images, seed=3, limit=10))
    assert len(first) == 10 and len({f.tobytes() for f in first}) == 10
    assert len(swa.calibration_faces(images, seed=3)) == 50


def test_training_with_swa_averages_from_its_start_epoch_and_resumes(synthetic_dataset, tmp_path):
    run = tmp_path / "swa_run"
    settings = TrainSettings(data=str(synthetic_dataset / "folder"), out=str(run), epochs=3, batch_size=32,
                             learning_rate=1e-3, swa_start=2)
    assert train(settings, verbose=0, stop_after=2) is None
    assert swa.WeightAverage.load(run / "checkpoint" / "swa.npz").count == 1
    # With one snapshot the average is the epoch's own weights, only its batch norm re-measured.
    last = keras.models.load_model(run / "checkpoint" / "last.keras")
    np.testing.assert_allclose(swa.WeightAverage.load(run / "checkpoint" / "swa.npz").mean[0],
                               np.asarray(last.get_weights()[0]), atol=1e-6)

    evaluation = train(settings, resume=True, verbose=0)
    assert swa.WeightAverage.load(run / "checkpoint" / "swa.npz").count == 2
    rows = _history(run)
    assert [r["swa_val_accuracy"] == "" for r in rows] == [True, False, False]
    candidates = [float(r["val_accuracy"]) for r in rows] + [float(r["swa_val_accuracy"]) for r in rows[1:]]
    assert evaluation["accuracy"] == pytest.approx(max(candidates), abs=1e-6)
    assert json.loads((run / "settings.json").read_text())["swa_start"] == 2
    card = (run / "model_card.md").read_text()
    assert "--swa-start 2" in card and "running average of the weights from epoch 2 on" in card
