"""Checks on the real FER2013 folder (FER_DATA_DIR) and the shipped model's reported accuracy."""

import json

import cv2
import numpy as np
import pytest
from test_cli import run_cli

from fer_core.labels import EMOTIONS
from fer_core.runs.folder import EVALUATION_FILES
from fer_core.runs.registry import default_model_path
from fer_core.training.data import load_dataset

# From the dataset's README: train / test images per class.
EXPECTED_COUNTS = {
    "train": {"angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "neutral": 4965, "sad": 4830,
              "surprise": 3171},
    "test": {"angry": 467, "disgust": 56, "fear": 496, "happy": 895, "neutral": 607, "sad": 653, "surprise": 415},
}


@pytest.mark.parametrize("split", ["train", "test"])
def test_folder_loader_counts_match_the_dataset_readme(fer_data_dir, split):
    dataset = load_dataset(fer_data_dir, split)
    assert dataset.counts() == EXPECTED_COUNTS[split]
    assert dataset.images.shape == (sum(EXPECTED_COUNTS[split].values()), 48, 48)


def _hand_views(faces: np.ndarray, mode: str) -> list[np.ndarray]:
    """The TTA views of (N, 48, 48) float faces, built here with OpenCV from the documented grid."""
    from fer_core.inference.tta import MULTI_GRID

    if mode == "none":
        return [faces]
    mirrored = faces[:, :, ::-1]
    if mode == "mirror":
        return [faces, mirrored]
    views = []
    for base in (faces, mirrored):
        for dx, dy, zoom, degrees in MULTI_GRID:
            matrix = cv2.getRotationMatrix2D((24.0, 24.0), degrees, zoom)
            matrix[:, 2] += (dx, dy)
            views.append(np.stack([cv2.warpAffine(np.ascontiguousarray(f), matrix, (48, 48),
                                                  borderMode=cv2.BORDER_REFLECT_101) for f in base]))
    return views


def _hand_count(model, fer_data_dir, mode: str):
    """Correct and total faces per class, independent of fer_core's pipeline: OpenCV reads every file and builds the
    views, Keras classifies."""
    correct, total = {}, {}
    for index, name in enumerate(EMOTIONS):
        files = sorted((fer_data_dir / "test" / name).glob("*.jpg"))
        faces = np.stack([cv2.equalizeHist(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)) for f in files])
        faces = faces.astype(np.float32) / 255.0
        views = _hand_views(faces, mode)
        p = sum(np.asarray(model(view[..., None], training=False)) for view in views) / len(views)
        correct[name] = int((p.argmax(axis=1) == index).sum())
        total[name] = len(files)
    return correct, total


# evaluate runs the TFLite engine, whose float sums differ from TensorFlow's in the last bits: allow one face
# whose two top probabilities tie that closely to land the other way.
ONE_FACE = 1.5 / 3589


@pytest.mark.parametrize("tta_flag", ["--no-tta", None])
def test_evaluate_matches_a_hand_computed_check_of_the_shipped_model(fer_data_dir, tmp_path, tta_flag):
    out = tmp_path / "eval.json"
    run_cli("evaluate", "--data", fer_data_dir, "--split", "test", "--json", out, *([tta_flag] if tta_flag else []))
    reported = json.loads(out.read_text())
    import keras

    from fer_core.inference.predictor import read_tta_default

    mode = read_tta_default(default_model_path()) if tta_flag is None else "none"
    assert reported["tta"] == mode
    model = keras.models.load_model(default_model_path(), compile=False)
    correct, total = _hand_count(model, fer_data_dir, mode)
    assert reported["n"] == sum(total.values()) == 3589
    assert reported["accuracy"] == pytest.approx(sum(correct.values()) / sum(total.values()), abs=ONE_FACE)
    for name in EMOTIONS:
        assert reported["per_class"][name]["recall"] == pytest.approx(correct[name] / total[name],
                                                                      abs=1.5 / total[name])
    # The shipped run's own evaluation files say the same.
    shipped = json.loads((default_model_path().parent / EVALUATION_FILES[mode]).read_text())
    assert shipped["accuracy"] == pytest.approx(reported["accuracy"], abs=ONE_FACE)


def test_raw_and_equalised_copies_of_publictest_give_nearly_the_same_model_input(fer_data_dir):
    """fer2013_raw holds PublicTest's original pixels; the dataset holds equalised JPEG copies of them. After the
    shared preprocessing only JPEG noise separates the two; before it they differ by about 31 grey levels."""
    raw_root = fer_data_dir.parent / "fer2013_raw" / "test"
    pairs = [(raw, fer_data_dir / "test" / raw.parent.name / f"{raw.stem}.jpg")
             for raw in sorted(raw_root.glob("*/*.png"))[::25]]
    assert len(pairs) > 100 and all(equalised.is_file() for _, equalised in pairs)
    raw = np.stack([cv2.imread(str(a), cv2.IMREAD_GRAYSCALE) for a, _ in pairs])
    equalised = np.stack([cv2.imread(str(b), cv2.IMREAD_GRAYSCALE) for _, b in pairs])
    assert np.abs(raw.astype(np.float32) - equalised).mean() > 20
    from fer_core.inference.preprocess import to_model_input

    assert float(np.abs(to_model_input(raw) - to_model_input(equalised)).mean()) < 6 / 255
