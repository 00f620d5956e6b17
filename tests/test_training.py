import csv
import dataclasses
import json

import keras
import numpy as np
import pytest

from fer_core.training.train import TrainSettings, learning_rate_at, train

RUN_FILES = {"settings.json", "history.csv", "model.keras", "evaluation.json", "evaluation_mirror.json",
             "evaluation_multi.json", "checkpoint", "model_card.md"}


def _history(run):
    with open(run / "history.csv") as f:
        return list(csv.DictReader(f))


def test_train_writes_run_files_and_resume_continues(synthetic_dataset, tmp_path):
    run = tmp_path / "run"
    settings = TrainSettings(data=str(synthetic_dataset / "fer2013.csv"), out=str(run), epochs=1, batch_size=32,
                             class_weights=True, label_smoothing=0.1, random_erasing=0.5)
    first = train(settings, verbose=0)
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    assert [int(r["epoch"]) for r in _history(run)] == [1]
    recorded = json.loads((run / "settings.json").read_text())
    assert recorded["classes"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert recorded["parameters"] > 0 and recorded["keras_backend"] == keras.backend.backend()
    record = recorded["data_record"]  # what the explorer shows without the data
    assert record["source"] == settings.data and "equalised" in record["preprocessing"]
    assert record["class_counts"]["train"] == dict.fromkeys(recorded["classes"], 12)
    assert sum(record["class_counts"]["test"].values()) == recorded["val_images"] == 35
    assert set(first) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "labels", "n"}
    assert first["n"] == 35
    # The run's model is for inference: its optimizer state lives only in the checkpoint, for --resume.
    assert getattr(keras.models.load_model(run / "model.keras"), "optimizer", None) is None
    assert keras.models.load_model(run / "checkpoint" / "last.keras").optimizer is not None

    settings.epochs = 3
    train(settings, resume=True, verbose=0)
    rows = _history(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert json.loads((run / "checkpoint" / "state.json").read_text())["epoch"] == 3
    best = max(float(r["val_accuracy"]) for r in rows)
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["accuracy"] == pytest.approx(best, abs=1e-6)
    card = (run / "model_card.md").read_text()
    assert f"| plain | 1 | {evaluation['accuracy']:.4f} |" in card
    assert "--epochs 3" in card and "--label-smoothing 0.1" in card and "--class-weights" in card
    # The resume changed --epochs, so the card reproduces both parts.
    assert json.loads((run / "settings.json").read_text())["schedule_changes"] == [{"after_epoch": 1,
                                                                                  "epochs_before": 1}]
    assert "--epochs 1 --batch-size" in card and "--stop-after 1" in card and card.count("--resume") == 1
    assert "epochs to 1 ran on a 1-epoch schedule" in card
    assert "median epoch" in card
    cpu_hours = sum(float(r["cpu_seconds"]) for r in rows) / 3600
    assert all(float(r["cpu_seconds"]) > 0 for r in rows) and f"{cpu_hours:.2f} core-hours of CPU on" in card
    speed = evaluation["inference"]
    assert speed["engine"] in ("tflite", "function") and speed["batch1_ms"] > 0 and speed["batch32_faces_per_s"] > 0
    assert f"{speed['batch1_ms']:.2f} ms at batch 1" in card
    assert json.loads((run / "evaluation_mirror.json").read_text())["inference"]["tta"] == "mirror"
    assert json.loads((run / "evaluation_multi.json").read_text())["inference"]["tta"] == "multi"


def test_a_run_in_parts_stops_and_resumes(synthetic_dataset, tmp_path):
    run = tmp_path / "parts"
    settings = TrainSettings(data=str(synthetic_dataset / "folder"), out=str(run), epochs=3, batch_size=32,
                             augment=False)
    assert train(settings, verbose=0, stop_after=1) is None
    assert [int(r["epoch"]) for r in _history(run)] == [1] and not (run / "evaluation.json").exists()
    assert train(settings, resume=True, verbose=0)["n"] == 35
    assert [int(r["epoch"]) for r in _history(run)] == [1, 2, 3]
    assert [float(r["learning_rate"]) for r in _history(run)] == [learning_rate_at(settings, e) for e in range(3)]
    assert "schedule_changes" not in json.loads((run / "settings.json").read_text())


def test_a_bfloat16_run_trains_in_bfloat16_and_saves_a_float32_model(synthetic_dataset, tmp_path, monkeypatch,
                                                                     caplog):
    run = tmp_path / "bf16"
    settings = TrainSettings(data=str(synthetic_dataset / "folder"), out=str(run), epochs=1, batch_size=32,
                             arch="vgg_fast", augment=False, precision="bfloat16")
    monkeypatch.setattr("fer_core.machine.native_bfloat16", lambda: False)  # as on a CPU without AVX-512 BF16
    assert train(settings, verbose=0)["n"] == 35
    assert "bfloat16 is emulated here" in caplog.text
    assert keras.config.dtype_policy().name == "float32"  # the caller's policy is left as it was
    trained = keras.models.load_model(run / "checkpoint" / "last.keras")
    policies = {layer.name: layer.dtype_policy.name for layer in trained.layers}
    assert "mixed_bfloat16" in policies.values() and policies["probabilities"] == "float32"
    saved = keras.models.load_model(run / "model.keras")
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    for ours, theirs in zip(saved.get_weights(), trained.get_weights(), strict=True):  # one epoch: the best is the last
        np.testing.assert_array_equal(ours, theirs)
    assert "--precision bfloat16" in (run / "model_card.md").read_text()


def test_class_subset_training(synthetic_dataset, tmp_path):
    run = tmp_path / "subset"
    train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(run), epochs=1, batch_size=32,
                        classes=["happy", "sad", "neutral"], augment=False), verbose=0)
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["labels"] == ["happy", "sad", "neutral"] and evaluation["n"] == 15
    assert len(evaluation["confusion_matrix"]) == 3


def test_cosine_schedule_warms_up_then_decays():
    s = TrainSettings(data="", out="", epochs=11, learning_rate=1.0, warmup_epochs=1)
    rates = [learning_rate_at(s, e) for e in range(11)]
    assert rates[0] == pytest.approx(0.5) and rates[1] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[1:], rates[2:], strict=False))
    assert rates[-1] == pytest.approx(0.5 * (1 + __import__("math").cos(__import__("math").pi * 0.9)))


def test_distillation_blends_the_teachers_probabilities_into_the_targets(synthetic_dataset, tiny_model, tmp_path):
    from fer_core.inference.predictor import Predictor
    from fer_core.training.data import load_dataset
    from fer_core.training.train import FaceBatches

    teacher = Predictor.load(tiny_model)
    train_set = load_dataset(str(synthetic_dataset / "folder"), "train")
    settings = TrainSettings(data="", out="", batch_size=16, distill=0.3)
    batches = FaceBatches(train_set.images, train_set.labels, np.eye(7)[train_set.labels], settings, teacher=teacher)
    x, y = batches[1]
    onehot = keras.utils.to_categorical(train_set.labels[batches._order[16:32]], 7)
    np.testing.assert_allclose(y, 0.7 * onehot + 0.3 * teacher.predict_proba(x), atol=1e-6)
    assert not np.allclose(y, onehot)

    run = tmp_path / "student"
    train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(run), epochs=1, batch_size=32,
                        teacher=str(tiny_model), distill=0.5), verbose=0)
    assert json.loads((run / "settings.json").read_text())["teacher"] == str(tiny_model)
    # The card builds the teacher first, under the name its --teacher then gives.
    reproduce = (run / "model_card.md").read_text().split("## Reproduce")[1]
    teacher_run = f"runs/{tiny_model.parent.name}"
    assert f"--teacher {teacher_run}/model.keras --distill 0.5" in reproduce
    assert reproduce.index(f"--out {teacher_run} ") < reproduce.index("--out runs/student ")
    with pytest.raises(ValueError, match="teacher"):
        train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(tmp_path / "bad"), epochs=1,
                            classes=["happy", "sad"], teacher=str(tiny_model)), verbose=0)


def test_init_from_starts_the_run_from_a_trained_models_weights(synthetic_dataset, tiny_model, tmp_path):
    run = tmp_path / "restart"
    # A zero learning rate leaves the trainable weights where --init-from put them.
    train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(run), epochs=1, batch_size=32,
                        learning_rate=0.0, schedule="constant", init_from=str(tiny_model)), verbose=0)
    start = keras.models.load_model(tiny_model)
    restarted = keras.models.load_model(run / "model.keras")
    for ours, theirs in zip(restarted.trainable_weights, start.trainable_weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert json.loads((run / "settings.json").read_text())["init_from"] == str(tiny_model)
    card = (run / "model_card.md").read_text()
    # The starting model's run folder is at hand, so Reproduce trains it first and restarts from its output.
    assert f"--out runs/{tiny_model.parent.name} " in card and "warm restart" in card
    assert f"--init-from runs/{tiny_model.parent.name}/model.keras" in card

    fresh = tmp_path / "fresh"
    train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(fresh), epochs=1, batch_size=32,
                        learning_rate=0.0, schedule="constant"), verbose=0)
    untouched = keras.models.load_model(fresh / "model.keras")
    assert not np.array_equal(np.asarray(untouched.trainable_weights[0]), np.asarray(start.trainable_weights[0]))

    with pytest.raises(ValueError, match="--init-from"):
        train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(tmp_path / "bad"), epochs=1,
                            arch="vgg_fast", init_from=str(tiny_model)), verbose=0)


def test_flip_only_batches_hold_each_face_or_its_mirror(synthetic_dataset):
    from fer_core.inference.preprocess import to_model_input
    from fer_core.training.data import load_dataset
    from fer_core.training.train import FaceBatches

    train_set = load_dataset(str(synthetic_dataset / "folder"), "train")
    settings = TrainSettings(data="", out="", batch_size=16, flip_only=True)
    batches = FaceBatches(train_set.images, train_set.labels, np.eye(7)[train_set.labels], settings)
    x, _ = batches[0]
    faces = train_set.images[batches._order[:16]]
    plain, mirror = to_model_input(faces), to_model_input(faces[:, :, ::-1])
    same = np.isclose(x, plain).all(axis=(1, 2, 3))
    flipped = np.isclose(x, mirror).all(axis=(1, 2, 3))
    assert (same | flipped).all()
    assert (flipped & ~same).any() and (same & ~flipped).any()


def test_a_tta_teacher_gives_each_face_its_view_averaged_probabilities(synthetic_dataset, tiny_model, tmp_path):
    from fer_core.inference.predictor import Predictor
    from fer_core.inference.preprocess import to_model_input
    from fer_core.training.data import load_dataset
    from fer_core.training.train import FaceBatches, _fixed_teacher_targets

    teacher = Predictor.load(tiny_model)
    train_set = load_dataset(str(synthetic_dataset / "folder"), "train")
    images, labels = train_set.images, train_set.labels
    flipped = TrainSettings(data=str(tmp_path), out="", batch_size=16, distill=0.4, flip_only=True,
                            teacher_tta="mirror", teacher=str(tiny_model))
    targets, _ = _fixed_teacher_targets(teacher, images, flipped)
    np.testing.assert_allclose(targets, teacher.predict_proba(to_model_input(images), tta="mirror"), atol=1e-6)
    assert not np.allclose(targets, teacher.predict_proba(to_model_input(images)), atol=1e-4)
    batches = FaceBatches(images, labels, np.eye(7)[labels], flipped, teacher=teacher, teacher_targets=targets)
    x, y = batches[0]
    idx = batches._order[:16]
    # A mirrored face has the same mirror-averaged probabilities, so the stored targets fit whichever view it got.
    np.testing.assert_allclose(y, 0.6 * keras.utils.to_categorical(labels[idx], 7)
                               + 0.4 * teacher.predict_proba(x, tta="mirror"), atol=1e-5)

    # Asked to, a teacher predicts batch by batch where augmentation changes what it would see.
    per_batch = dict(data="", out="", teacher=str(tiny_model), teacher_per_batch=True)
    assert _fixed_teacher_targets(teacher, images, TrainSettings(**per_batch, teacher_tta="mirror")) == (None, None)
    assert _fixed_teacher_targets(teacher, images, TrainSettings(**per_batch, flip_only=True)) == (None, None)

    run = tmp_path / "student"
    train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(run), epochs=1, batch_size=32,
                        augment=False, teacher=str(tiny_model), teacher_tta="multi"), verbose=0)
    card = (run / "model_card.md").read_text()
    assert f"--teacher runs/{tiny_model.parent.name}/model.keras --distill 0.5" in card
    assert "--teacher-tta multi" in card
    assert "averaged over its 18 multi-view TTA views" in card


def test_the_augmentation_ranges_are_the_runs_settings(synthetic_dataset):
    from fer_core.inference.preprocess import to_model_input
    from fer_core.training.data import load_dataset
    from fer_core.training.settings import command_arguments
    from fer_core.training.train import FaceBatches

    train_set = load_dataset(str(synthetic_dataset / "folder"), "train")
    # With every range at zero, the full augmentation leaves only the mirror.
    still = TrainSettings(data="", out="", batch_size=16, max_rotation=0.0, max_zoom=0.0, max_shift=0.0)
    batches = FaceBatches(train_set.images, train_set.labels, np.eye(7)[train_set.labels], still)
    x, _ = batches[0]
    faces = train_set.images[batches._order[:16]]
    same = np.isclose(x, to_model_input(faces)).all(axis=(1, 2, 3))
    flipped = np.isclose(x, to_model_input(faces[:, :, ::-1])).all(axis=(1, 2, 3))
    assert (same | flipped).all()
    moving = FaceBatches(train_set.images, train_set.labels, np.eye(7)[train_set.labels],
                         TrainSettings(data="", out="", batch_size=16))
    x, _ = moving[0]
    assert not (np.isclose(x, to_model_input(faces)).all(axis=(1, 2, 3))
                | np.isclose(x, to_model_input(faces[:, :, ::-1])).all(axis=(1, 2, 3))).all()
    # Ranges away from their defaults are spelled out in the Reproduce command; the defaults are not.
    flags = " ".join(command_arguments(dataclasses.asdict(still)))
    assert "--max-rotation 0.0 --max-zoom 0.0 --max-shift 0.0" in flags
    assert "--max-rotation" not in " ".join(command_arguments(dataclasses.asdict(TrainSettings(data="d", out="o"))))


def test_teacher_targets_are_computed_once_and_cached_beside_the_data_under_their_hash(synthetic_dataset,
                                                                                      tiny_model, tmp_path):
    from fer_core.inference.predictor import Predictor
    from fer_core.inference.preprocess import to_model_input
    from fer_core.training.data import load_dataset
    from fer_core.training.teacher import CACHE_FOLDER, teacher_targets

    teacher = Predictor.load(tiny_model)
    images = load_dataset(str(synthetic_dataset / "folder"), "train").images
    data = tmp_path / "data"
    data.mkdir()
    targets, key = teacher_targets(teacher, str(tiny_model), "mirror", images, str(data))
    np.testing.assert_allclose(targets, teacher.predict_proba(to_model_input(images), tta="mirror"), atol=1e-6)
    assert (data / CACHE_FOLDER / f"{key}.npy").is_file()

    class Absent:  # a second run reads the cache and never asks the teacher
        labels = teacher.labels

        def predict_proba(self, *args, **kwargs):
            raise AssertionError("the cached targets were not used")

    again, same_key = teacher_targets(Absent(), str(tiny_model), "mirror", images, str(data))
    assert same_key == key and np.array_equal(again, targets)
    # Other views or other faces are other targets.
    assert teacher_targets(teacher, str(tiny_model), "none", images, str(data))[1] != key
    assert teacher_targets(teacher, str(tiny_model), "mirror", images[:-1], str(data))[1] != key
    assert len(list((data / CACHE_FOLDER).glob("*.npy"))) == 3

    run = tmp_path / "student"
    train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(run), epochs=1, batch_size=32,
                        teacher=str(tiny_model), distill=0.5), verbose=0)
    recorded = json.loads((run / "settings.json").read_text())["teacher_targets_sha256"]
    assert (synthetic_dataset / "folder" / CACHE_FOLDER / f"{recorded}.npy").is_file()
    assert f"cached as `{recorded[:12]}`" in (run / "model_card.md").read_text()


def test_mixup_batches_carry_mixed_targets_and_their_flags_reach_the_reproduce_command(synthetic_dataset):
    from fer_core.training.data import load_dataset
    from fer_core.training.model_card import _augmentation
    from fer_core.training.settings import command_arguments
    from fer_core.training.train import FaceBatches

    train_set = load_dataset(str(synthetic_dataset / "folder"), "train")
    one_hot = np.eye(7)[train_set.labels]
    mixed = TrainSettings(data="d", out="o", batch_size=16, mixup=0.4)
    _, y = FaceBatches(train_set.images, train_set.labels, one_hot, mixed)[0]
    assert np.allclose(y.sum(axis=1), 1.0)
    assert ((y > 0) & (y < 1)).any(axis=1).sum() >= 4  # blended with a face of another class
    _, plain = FaceBatches(train_set.images, train_set.labels, one_hot, TrainSettings(data="d", out="o",
                                                                                       batch_size=16))[0]
    assert set(np.unique(plain)) <= {0.0, 1.0}
    settings = dataclasses.asdict(TrainSettings(data="d", out="o", mixup=0.4, cutmix=0.5))
    assert "--mixup 0.4 --cutmix 0.5" in " ".join(command_arguments(settings))
    assert "mixup 0.4; CutMix on 50% of batches" in _augmentation(settings)
