"""Every command end to end, as a user runs it: `python -m fer_core ...` in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.training.data import load_dataset
from fer_core.training.evaluation import compute_metrics
from helpers import REPO_ROOT, face_scene


def run_cli(*args, check=True, quiet=False):
    """The command's process; quiet: also assert that its stderr is empty. TensorFlow is asked for every log line
    and oneDNN is left at TensorFlow's default, so only the command itself can keep its stderr clean."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"} | {"TF_CPP_MIN_LOG_LEVEL": "0"}
    proc = subprocess.run([sys.executable, "-m", "fer_core", *map(str, args)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    if quiet:
        assert proc.stderr == "", proc.stderr
    return proc


@pytest.mark.parametrize("command", ["train", "evaluate", "analyze", "video", "ship"])
def test_every_command_has_help(command):
    out = run_cli(command, "--help").stdout
    assert "usage: python -m fer_core " + command in out


def test_train_then_resume(synthetic_dataset, tmp_path):
    run = tmp_path / "run"
    run_cli("train", "--data", synthetic_dataset / "folder", "--arch", "mini_xception", "--epochs", 1,
            "--out", run, "--batch-size", 32, "--progress", "none", quiet=True)
    proc = run_cli("train", "--data", synthetic_dataset / "folder", "--arch", "mini_xception", "--epochs", 2,
                   "--out", run, "--batch-size", 32, "--progress", "none", "--resume", quiet=True)
    assert "macro-F1" in proc.stdout
    assert len((run / "history.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs
    assert json.loads((run / "evaluation.json").read_text())["n"] == 35

    proc = run_cli("ship", run, "--name", "shipped", "--models-dir", tmp_path / "models", quiet=True)
    shipped = tmp_path / "models" / "shipped"
    assert str(shipped) in proc.stdout and (shipped / "model_card.md").is_file()
    run_cli("evaluate", "--data", synthetic_dataset / "folder", "--model", shipped / "model.keras", "--no-tta",
            "--json", tmp_path / "shipped.json", quiet=True)
    run_cli("evaluate", "--data", synthetic_dataset / "folder", "--model", run / "model.keras", "--no-tta",
            quiet=True)  # a model with no converted file: TensorFlow converts it
    recorded = json.loads((run / "evaluation.json").read_text())
    assert json.loads((tmp_path / "shipped.json").read_text())["accuracy"] == pytest.approx(recorded["accuracy"])


def test_evaluate_json_matches_an_independent_count(synthetic_dataset, tiny_model, tmp_path):
    out = tmp_path / "eval.json"
    proc = run_cli("evaluate", "--data", synthetic_dataset / "folder", "--model", tiny_model, "--json", out)
    metrics = json.loads(out.read_text())
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix", "labels", "n"} <= set(metrics)
    dataset = load_dataset(synthetic_dataset / "folder", "test")
    predictor = Predictor.load(tiny_model)
    predicted = np.asarray(predictor.model(to_model_input(dataset.images), training=False)).argmax(axis=1)
    assert metrics["n"] == 35
    assert metrics["accuracy"] == pytest.approx(float(np.mean(predicted == dataset.labels)), abs=1e-9)
    expected = compute_metrics(dataset.labels, predicted, dataset.classes)
    assert metrics["confusion_matrix"] == expected["confusion_matrix"]
    assert f"accuracy={metrics['accuracy']:.4f}" in proc.stdout


def test_evaluate_tta_modes_and_the_bare_flag(synthetic_dataset, tiny_model, tmp_path):
    dataset = load_dataset(synthetic_dataset / "folder", "test")
    predictor = Predictor.load(tiny_model)
    for args, mode in ((["--tta", "multi"], "multi"), (["--tta"], "mirror"), (["--no-tta"], "none")):
        out = tmp_path / f"{mode}.json"
        run_cli("evaluate", "--data", synthetic_dataset / "folder", "--model", tiny_model, "--json", out, *args)
        metrics = json.loads(out.read_text())
        predicted = predictor.predict_proba(to_model_input(dataset.images), tta=mode).argmax(axis=1)
        assert metrics["tta"] == mode
        assert metrics["accuracy"] == pytest.approx(float(np.mean(predicted == dataset.labels)), abs=1e-9)
    proc = run_cli("evaluate", "--data", synthetic_dataset / "folder", "--model", tiny_model, "--tta", "crops",
                   check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_rescore_rewrites_every_evaluation_and_the_card(synthetic_dataset, tiny_model, tmp_path):
    import shutil

    folder = tmp_path / "old_run"
    shutil.copytree(tiny_model.parent, folder, ignore=shutil.ignore_patterns("checkpoint"))
    recorded = json.loads((folder / "evaluation.json").read_text())
    (folder / "evaluation_multi.json").unlink()  # as in a run trained before the multi-view mode existed
    (folder / "model_card.md").write_text("stale")
    proc = run_cli("evaluate", "--data", synthetic_dataset / "folder", "--model", folder / "model.keras", "--rescore")
    multi = json.loads((folder / "evaluation_multi.json").read_text())
    assert multi["tta"] == "multi" and multi["n"] == 35 and multi["train_seconds"] == recorded["train_seconds"]
    assert json.loads((folder / "evaluation.json").read_text())["accuracy"] == recorded["accuracy"]
    assert "multi-view TTA | 18 |" in (folder / "model_card.md").read_text()
    assert "multi: accuracy" in proc.stdout


def test_evaluate_test_only_and_bare_class_folders_and_csv(synthetic_dataset, tiny_model, tmp_path):
    from helpers import synthetic_faces, write_folder_split

    images, labels = synthetic_faces(2)
    write_folder_split(tmp_path / "only_test", "test", images, labels)
    write_folder_split(tmp_path, "bare", images, labels)
    for data in (tmp_path / "only_test", tmp_path / "bare"):
        out = tmp_path / f"{data.name}.json"
        run_cli("evaluate", "--data", data, "--model", tiny_model, "--json", out, "--tta")
        assert json.loads(out.read_text())["n"] == 14
    out = tmp_path / "csv.json"
    run_cli("evaluate", "--data", synthetic_dataset / "fer2013.csv", "--model", tiny_model, "--json", out)
    assert json.loads(out.read_text())["n"] == 35


def test_evaluate_reports_a_missing_model_in_one_line(synthetic_dataset, tmp_path):
    proc = run_cli("evaluate", "--data", synthetic_dataset / "folder", "--model", tmp_path / "nope.keras", check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().startswith("error: model file not found")
    assert "Traceback" not in proc.stderr


def test_analyze_many_formats_with_a_bad_file(tiny_model, tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for suffix in (".jpg", ".png", ".webp", ".bmp", ".tiff"):
        assert cv2.imwrite(str(inputs / f"img{suffix}"), image)
    (inputs / "broken.jpg").write_bytes(b"this is not a jpeg")
    out, annotated = tmp_path / "out.json", tmp_path / "annotated"
    proc = run_cli("analyze", inputs, "--model", tiny_model, "--json", out, "--annotated", annotated, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{inputs / 'broken.jpg'}: not a readable image")
    records = json.loads(out.read_text())
    assert len(records) == 6
    by_name = {os.path.basename(r["image"]): r for r in records}
    assert by_name["broken.jpg"]["error"] and by_name["broken.jpg"]["faces"] == []
    for name in ("img.jpg", "img.png", "img.webp", "img.bmp", "img.tiff"):
        assert by_name[name]["error"] is None and by_name[name]["faces"] == []
    assert len(list(annotated.glob("*.png"))) == 5


def test_analyze_real_faces_json_shape(tiny_model, fer_data_dir, tmp_path):
    scene, _ = face_scene(fer_data_dir, n_faces=3, seed=0)
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), scene)
    proc = run_cli("analyze", path, "--model", tiny_model, "--json", "-")
    [record] = json.loads(proc.stdout)
    assert record["error"] is None and len(record["faces"]) >= 1
    face = record["faces"][0]
    # The default detector is YuNet: its score and five landmarks come with each face.
    assert set(face) == {"box", "emotion", "confidence", "scores", "detector_score", "landmarks"}
    assert len(face["box"]) == 4 and len(face["landmarks"]) == 5 and 0.6 <= face["detector_score"] <= 1
    assert len(face["scores"]) == 7 and face["emotion"] == max(face["scores"], key=face["scores"].get)


def test_analyze_and_video_take_either_detector(tiny_model, fer_data_dir, tmp_path):
    scene, _ = face_scene(fer_data_dir, n_faces=3, seed=0)
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), scene)
    haar = json.loads(run_cli("analyze", path, "--model", tiny_model, "--detector", "haar", "--json", "-").stdout)
    assert haar[0]["faces"] and all(set(f) == {"box", "emotion", "confidence", "scores", "detector_score"}
                                    and f["detector_score"] >= 5 for f in haar[0]["faces"])
    strict = json.loads(run_cli("analyze", path, "--model", tiny_model, "--detector", "yunet", "--score-threshold",
                                "0.995", "--no-retry", "--json", "-").stdout)
    assert all(f["detector_score"] >= 0.995 for f in strict[0]["faces"])
    # Without --no-retry, a photo where no face reaches the threshold keeps those that reach 0.3.
    retried = json.loads(run_cli("analyze", path, "--model", tiny_model, "--score-threshold", "0.9999",
                                 "--json", "-").stdout)
    assert retried[0]["faces"] and all(0.3 <= f["detector_score"] < 0.9999 for f in retried[0]["faces"])
    bad = run_cli("analyze", path, "--detector", "mtcnn", check=False)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    help_text = run_cli("video", "--help").stdout
    assert "--detector {yunet,haar}" in help_text and "--score-threshold" in help_text


def test_commands_default_to_the_shipped_model(synthetic_dataset, tmp_path):
    from fer_core.runs.registry import default_model_path

    assert default_model_path().is_file(), "the shipped default model is missing from models/"
    out = tmp_path / "eval.json"
    run_cli("evaluate", "--data", synthetic_dataset / "folder", "--json", out)
    assert json.loads(out.read_text())["model"] == default_model_path().parent.name


def test_batch_folder_csv_rows_match_analyze_per_image(tiny_model, fer_data_dir, tmp_path):
    import csv

    import fer_core
    from fer_core.inference.pipeline import Analyzer

    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    for seed in range(3):
        cv2.imwrite(str(folder / f"scene{seed}.png"), face_scene(fer_data_dir, n_faces=3, seed=seed)[0])
    cv2.imwrite(str(folder / "nested" / "blank.jpg"), np.full((100, 100, 3), 128, np.uint8))
    (folder / "nested" / "bad.png").write_bytes(b"nope")
    out = tmp_path / "faces.csv"
    proc = run_cli("analyze", folder, "--csv", out, "--model", tiny_model, "--progress", check=False)
    assert proc.returncode != 0 and "bad.png: not a readable image" in proc.stderr
    assert "5/5 images (100%)" in proc.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    analyzer = Analyzer(Predictor.load(tiny_model))
    expected = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".png" and path.name != "bad.png" or path.suffix == ".jpg":
            for number, face in enumerate(fer_core.analyze(cv2.imread(str(path)), analyzer=analyzer), start=1):
                expected.append((str(path), str(number), face.emotion, [str(v) for v in face.box]))
    assert [(r["image"], r["face"], r["emotion"], [r["x"], r["y"], r["w"], r["h"]]) for r in rows] == expected
    assert len(rows) >= 3


def test_a_missing_face_detector_file_is_one_clear_error(tiny_model, tmp_path):
    image = tmp_path / "blank.png"
    cv2.imwrite(str(image), np.full((120, 160, 3), 90, np.uint8))
    env = dict(os.environ, FER_MODELS_DIR=str(tmp_path / "no_models"))
    proc = subprocess.run([sys.executable, "-m", "fer_core", "analyze", str(image), "--model", str(tiny_model)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: YuNet face detector not found" in proc.stderr
    # Haar needs no model file of ours.
    haar = subprocess.run([sys.executable, "-m", "fer_core", "analyze", str(image), "--model", str(tiny_model),
                           "--detector", "haar"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert haar.returncode == 0, haar.stderr


def test_a_user_error_gets_one_line_and_a_bug_keeps_its_traceback(monkeypatch, capsys):
    from fer_core import cli
    from fer_core.errors import UsageError

    def raises(error):
        def handler(args):
            raise error
        return handler

    monkeypatch.setattr(cli, "run_evaluate", raises(UsageError("dataset classes differ")))
    assert cli.main(["evaluate", "--data", "somewhere"]) == 2
    assert capsys.readouterr().err == "error: dataset classes differ\n"
    monkeypatch.setattr(cli, "run_evaluate", raises(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["evaluate", "--data", "somewhere"])


def test_the_hostile_corpus_is_named_once_each_and_the_good_photo_is_analysed(tmp_path, tiny_model):
    from helpers import hostile_images

    folder = tmp_path / "in"
    folder.mkdir()
    hostile = hostile_images()
    for name, (data, _) in hostile.items():
        (folder / name).write_bytes(data)
    cv2.imwrite(str(folder / "zz_good.png"), np.full((120, 160, 3), 90, np.uint8))
    out = tmp_path / "faces.json"
    proc = run_cli("analyze", folder, "--model", tiny_model, "--json", out, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(hostile)
    for name, (_, reason) in hostile.items():
        assert [line for line in lines if line.startswith(f"{folder / name}: {reason}")], name
    records = {Path(r["image"]).name: r for r in json.loads(out.read_text())}
    assert records["zz_good.png"]["error"] is None and all(records[name]["error"] for name in hostile)
