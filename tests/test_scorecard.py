"""The scorecard: original, raw-pixel, FER+ majority and end-to-end measures in one JSON."""

import json
import shutil

import cv2
import numpy as np
import pytest
from test_cli import run_cli
from test_ferplus import _votes_row, write_votes

from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.labels import EMOTIONS
from fer_core.training import ferplus
from fer_core.training.data import load_dataset
from fer_core.training.evaluation import evaluate_dataset
from fer_core.training.scorecard import NO_FACE, end_to_end, format_scorecard, scorecard
from helpers import face_scene, write_folder_split


def _unanimous_votes(dataset, path, relabel=None):
    """Ten votes per face for its own label (or relabel[i]), and a tie for the first face."""
    column = {emotion: name for name, emotion in ferplus.TO_EMOTION.items()}
    labels = dataset.labels if relabel is None else relabel
    rows = [_votes_row(dataset.files[0], happiness=5, sadness=5)]
    rows += [_votes_row(f, **{column[EMOTIONS[k]]: 10}) for f, k in zip(dataset.files[1:], labels[1:], strict=True)]
    write_votes(path, rows)


def _labelled_images(folder, rows) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["file,label"]
    for name, image, label in rows:
        cv2.imwrite(str(folder / name), image)
        lines.append(f"{name},{label}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")


def test_measures_agree_with_evaluate_and_with_the_labels_they_score(tiny_model, synthetic_dataset, tmp_path):
    data = synthetic_dataset / "folder"
    predictor = Predictor.load(tiny_model)
    dataset = load_dataset(data, "test")
    # The crowd disagrees with FER2013 on every face: it votes for the next class.
    crowd = (dataset.labels + 1) % len(EMOTIONS)
    _unanimous_votes(dataset, tmp_path / "votes.csv", relabel=crowd)
    card = scorecard(predictor, data, tta="none", raw=data, ferplus_csv=tmp_path / "votes.csv")

    plain = evaluate_dataset(predictor, dataset, tta="none")
    assert card["original"]["confusion_matrix"] == plain["confusion_matrix"]
    assert card["raw"]["confusion_matrix"] == plain["confusion_matrix"]
    predicted = predictor.predict_proba(to_model_input(dataset.images)).argmax(1)
    assert card["ferplus"]["n"] == len(dataset.labels) - 1 and card["ferplus"]["unscored"] == 1
    assert card["ferplus"]["accuracy"] == pytest.approx(np.mean(predicted[1:] == crowd[1:]))
    assert "end_to_end" not in card
    text = format_scorecard(card)
    assert "1 faces without a majority not scored" in text and all(name in text for name in EMOTIONS)


def test_end_to_end_counts_an_image_without_a_face_as_wrong(tiny_model, tmp_path):
    blank = np.full((200, 200, 3), 127, np.uint8)
    _labelled_images(tmp_path / "e2e", [("a.png", blank, "happy"), ("b.png", blank, "sad"),
                                        ("c.png", blank, "not-an-emotion")])
    result = end_to_end(Analyzer(Predictor.load(tiny_model), tta="none"), tmp_path / "e2e")
    assert result["n"] == 2 and result["no_face"] == 2 and result["accuracy"] == 0.0
    assert result["predicted_labels"][-1] == NO_FACE and NO_FACE not in result["per_class"]
    happy = EMOTIONS.index("happy")
    assert result["confusion_matrix"][happy][-1] == 1 and result["per_class"]["happy"]["recall"] == 0.0


def test_end_to_end_classifies_the_largest_face(fer_data_dir, tmp_path):
    scene, _ = face_scene(fer_data_dir)
    _labelled_images(tmp_path / "e2e", [("scene.png", scene, "happy"),
                                        ("blank.png", np.zeros_like(scene), "angry")])
    analyzer = Analyzer(tta="none")
    expected = max(analyzer.analyze(scene), key=lambda f: f.box[2] * f.box[3]).emotion
    result = end_to_end(analyzer, tmp_path / "e2e")
    assert result["no_face"] == 1
    assert result["confusion_matrix"][EMOTIONS.index("happy")][EMOTIONS.index(expected)] == 1


def test_cli_saves_the_scorecard_beside_the_model_and_in_its_card(tiny_model, synthetic_dataset, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model.parent, model_dir)
    data = tmp_path / "data"
    shutil.copytree(synthetic_dataset / "folder", data)
    _unanimous_votes(load_dataset(data, "test"), data / "ferplus.csv")
    result = run_cli("evaluate", "--data", str(data), "--model", str(model_dir / "model.keras"), "--raw",
                     str(data), "--save", "--json", str(tmp_path / "card.json"))
    assert result.returncode == 0, result.stderr
    saved = json.loads((model_dir / "scorecard.json").read_text())
    assert saved == json.loads((tmp_path / "card.json").read_text())
    assert {"original", "raw", "ferplus"} <= set(saved)
    card = (model_dir / "model_card.md").read_text()
    assert "## What users see" in card and "FER+ majority" in card


def test_the_scene_measure_finds_aligns_and_scores_real_faces_pasted_into_scenes(fer_data_dir, tmp_path):
    """`evaluate --scene` on 35 raw PublicTest faces (5 per class): each is found in its scene, most are aligned
    from landmarks, and the share of the direct-crop accuracy is the ratio of the two accuracies."""
    raw = load_dataset(fer_data_dir.parent / "fer2013_raw", "test")
    chosen = np.concatenate([np.flatnonzero(raw.labels == k)[:5] for k in range(len(raw.classes))])
    folder = tmp_path / "faces"
    write_folder_split(folder, "test", raw.images[chosen], raw.labels[chosen])
    result = run_cli("evaluate", "--data", str(folder), "--scene", str(folder), "--tta", "none",
                     "--json", str(tmp_path / "card.json"))
    assert result.returncode == 0, result.stderr
    scene = json.loads((tmp_path / "card.json").read_text())["scene"]
    assert scene["n"] == 35 and scene["detection_rate"] >= 0.9 and scene["aligned"] >= 0.8
    assert scene["no_face"] == round(35 * (1 - scene["detection_rate"]))
    assert scene["of_direct"] == pytest.approx(scene["accuracy"] / scene["direct_accuracy"])
    # The direct crops are the same faces the scorecard's first measure scores, in the same TTA.
    assert scene["direct_accuracy"] == pytest.approx(json.loads((tmp_path / "card.json").read_text())["original"]
                                                     ["accuracy"])
    assert "of direct crops" in result.stdout and scene["align"] is True
