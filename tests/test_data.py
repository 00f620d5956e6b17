import logging

import numpy as np
import pytest

from fer_core.labels import EMOTIONS
from fer_core.training.data import available_splits, load_csv, load_dataset, load_image_folder
from helpers import synthetic_faces, write_folder_split


@pytest.mark.parametrize("split", ["train", "test"])
def test_folder_and_csv_loaders_give_identical_arrays(synthetic_dataset, split):
    folder = load_image_folder(synthetic_dataset / "folder", split)
    table = load_csv(synthetic_dataset / "fer2013.csv", split)
    # Folder order is by class then file name; the CSV was written in the same order.
    assert folder.images.shape == table.images.shape == (len(folder.labels), 48, 48)
    assert folder.images.dtype == table.images.dtype == np.uint8
    np.testing.assert_array_equal(folder.images, table.images)
    np.testing.assert_array_equal(folder.labels, table.labels)
    assert folder.classes == table.classes == EMOTIONS


def test_class_counts_per_split(synthetic_dataset):
    assert load_dataset(synthetic_dataset / "folder", "train").counts() == {e: 12 for e in EMOTIONS}
    assert load_dataset(synthetic_dataset / "fer2013.csv", "test").counts() == {e: 5 for e in EMOTIONS}
    assert available_splits(synthetic_dataset / "folder") == ["train", "test"]
    assert available_splits(synthetic_dataset / "fer2013.csv") == ["train", "test"]


def test_class_subset_everywhere(synthetic_dataset):
    for path in (synthetic_dataset / "folder", synthetic_dataset / "fer2013.csv"):
        subset = load_dataset(path, "train", "happy,sad,neutral")
        assert subset.classes == ("happy", "sad", "neutral")
        assert subset.counts() == {"happy": 12, "sad": 12, "neutral": 12}
        assert set(subset.labels) == {0, 1, 2}


def test_synonym_folders_unknown_folders_and_missing_classes(tmp_path, caplog):
    images, labels = synthetic_faces(3)
    names = ["Anger", "DISGUSTED", "fearful", "Happiness", "sadness", "Surprised", "neutral"]
    keep = np.isin(labels, [0, 3, 4, 5])  # only angry, happy, sad, surprise present
    write_folder_split(tmp_path, "train", images[keep], labels[keep], names)
    write_folder_split(tmp_path, "train", images[:2], np.zeros(2, int), ["contempt"])
    with caplog.at_level(logging.WARNING):
        dataset = load_image_folder(tmp_path, "train")
    assert "contempt" in caplog.text
    assert dataset.counts() == {"angry": 3, "disgust": 0, "fear": 0, "happy": 3, "sad": 3, "surprise": 3,
                                "neutral": 0}
    np.testing.assert_array_equal(dataset.images[dataset.labels == 3], images[labels == 3])


def test_bare_class_folders_and_test_only_layout(tmp_path):
    images, labels = synthetic_faces(2)
    write_folder_split(tmp_path / "only_test", "test", images, labels)
    write_folder_split(tmp_path, "bare", images, labels)
    assert load_dataset(tmp_path / "only_test", "test").counts() == {e: 2 for e in EMOTIONS}
    assert load_dataset(tmp_path / "bare", "test").counts() == {e: 2 for e in EMOTIONS}
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "only_test", "train")


def test_folder_images_of_other_sizes_and_colours_are_normalised(tmp_path):
    import cv2

    folder = tmp_path / "train" / "happy"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "big.png"), np.full((96, 120, 3), 200, np.uint8))
    dataset = load_image_folder(tmp_path, "train")
    assert dataset.images.shape == (1, 48, 48)
    assert dataset.images.dtype == np.uint8


def test_missing_dataset_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "nope", "train")
