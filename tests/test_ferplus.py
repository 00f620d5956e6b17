"""FER+ votes: matching by file name, majority labels, soft targets, and training on them."""

import json

import numpy as np
import pytest

from fer_core.labels import EMOTIONS
from fer_core.training import ferplus
from fer_core.training.data import load_dataset
from fer_core.training.train import TrainSettings, train
from helpers import synthetic_faces, write_folder_split

COLUMNS = ferplus.VOTE_COLUMNS


def _votes_row(file, **votes) -> str:
    return ",".join([file, *(str(votes.get(c, 0)) for c in COLUMNS)])


def write_votes(path, rows) -> None:
    path.write_text("\n".join(["file," + ",".join(COLUMNS), *rows]) + "\n")


@pytest.fixture
def voted_folder(tmp_path):
    """Four test faces (two angry, one happy, one neutral) and votes written for their .jpg names."""
    images, _ = synthetic_faces(1)
    root = tmp_path / "data"
    write_folder_split(root, "test", images[[0, 0, 3, 6]], np.array([0, 0, 3, 6]))
    files = load_dataset(root, "test").files
    write_votes(tmp_path / "ferplus.csv", [
        _votes_row(files[0].replace(".png", ".jpg"), anger=6, disgust=2, contempt=2),  # majority angry
        _votes_row(files[1].replace(".png", ".jpg"), happiness=4, sadness=4, unknown=2),  # a tie: no majority
        _votes_row(files[2].replace(".png", ".jpg"), not_face=7, happiness=3),  # not a face
        # files[3] has no row
    ])
    return root, tmp_path / "ferplus.csv"


def test_votes_find_their_faces_by_name_across_image_formats(voted_folder):
    root, csv_path = voted_folder
    dataset = load_dataset(root, "test")
    assert dataset.files[0].startswith("test/angry/") and dataset.files[0].endswith(".png")
    votes = ferplus.votes_for(dataset, csv_path)
    assert votes.found.tolist() == [True, True, True, False]
    assert votes.counts[0, COLUMNS.index("anger")] == 6


def test_majority_needs_a_single_top_emotion_of_the_models_classes(voted_folder):
    root, csv_path = voted_folder
    dataset = load_dataset(root, "test")
    majority = ferplus.majority_labels(ferplus.votes_for(dataset, csv_path), dataset.classes)
    assert majority.tolist() == [EMOTIONS.index("angry"), -1, -1, -1]


def test_distribution_leaves_out_contempt_unknown_and_not_face(voted_folder):
    root, csv_path = voted_folder
    dataset = load_dataset(root, "test")
    dist = ferplus.emotion_distribution(ferplus.votes_for(dataset, csv_path), dataset.classes)
    np.testing.assert_allclose(dist[0, [EMOTIONS.index("angry"), EMOTIONS.index("disgust")]], [0.75, 0.25])
    np.testing.assert_allclose(dist[1, [EMOTIONS.index("happy"), EMOTIONS.index("sad")]], [0.5, 0.5])
    np.testing.assert_allclose(dist.sum(axis=1), [1, 1, 1, 0])


def test_targets_blend_by_the_weight_keep_the_label_without_votes_and_drop_not_faces(voted_folder):
    root, csv_path = voted_folder
    dataset = load_dataset(root, "test")
    targets, keep = ferplus.training_targets(dataset, csv_path, weight=0.7)
    assert keep.tolist() == [True, True, False, True]
    angry, disgust, happy, sad = (EMOTIONS.index(e) for e in ("angry", "disgust", "happy", "sad"))
    assert targets[0, angry] == pytest.approx(0.3 + 0.7 * 0.75) and targets[0, disgust] == pytest.approx(0.7 * 0.25)
    # The second face is labelled angry; the crowd split between happy and sad.
    assert targets[1, angry] == pytest.approx(0.3) and targets[1, happy] == targets[1, sad] == pytest.approx(0.35)
    np.testing.assert_array_equal(targets[3], np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")])
    np.testing.assert_allclose(targets.sum(axis=1), 1, rtol=1e-6)
    with pytest.raises(ValueError, match="weight"):
        ferplus.training_targets(dataset, csv_path, weight=1.5)


def test_a_csv_dataset_cannot_be_matched_to_votes(synthetic_dataset, tmp_path):
    write_votes(tmp_path / "votes.csv", [])
    with pytest.raises(ValueError, match="image folder"):
        ferplus.votes_for(load_dataset(synthetic_dataset / "fer2013.csv", "test"), tmp_path / "votes.csv")


def test_training_on_crowd_votes_records_the_weight_and_leaves_out_not_faces(synthetic_dataset, tmp_path):
    data = synthetic_dataset / "folder"
    train_set = load_dataset(data, "train")
    # Every face gets a unanimous vote for its own class, except two faces the crowd called not a face.
    column = {emotion: name for name, emotion in ferplus.TO_EMOTION.items()}
    rows = [_votes_row(f, **({"not_face": 10} if i < 2 else {column[EMOTIONS[label]]: 10}))
            for i, (f, label) in enumerate(zip(train_set.files, train_set.labels, strict=True))]
    write_votes(tmp_path / "votes.csv", rows)
    out = tmp_path / "run"
    train(TrainSettings(data=str(data), out=str(out), epochs=1, batch_size=32, ferplus=str(tmp_path / "votes.csv"),
                        ferplus_weight=0.7), verbose=0)
    settings = json.loads((out / "settings.json").read_text())
    assert settings["ferplus_weight"] == 0.7 and settings["ferplus"].endswith("votes.csv")
    assert settings["train_images"] == len(train_set.labels) - 2
