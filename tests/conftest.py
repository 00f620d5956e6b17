"""Shared fixtures: generated FER-style datasets, a tiny trained model, and the real-data gate."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Converted TFLite models are cached per test session, not in the user's ~/.cache (the app servers the browser
# tests start inherit it).
os.environ.setdefault("FER_CACHE_DIR", tempfile.mkdtemp(prefix="fer_cache_"))

# As in the app package (app/__init__.py): pylibsrtp (streamlit-webrtc) must load before TensorFlow or it segfaults,
# and the AppTests import the app's pages in this process after fer_core has loaded TensorFlow.
import pylibsrtp  # noqa: E402, F401, I001

import pytest  # noqa: E402

from helpers import synthetic_faces, write_csv, write_folder_split  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> Path:
    """A small FER layout (train/ and test/, 7 classes) plus the same faces as fer2013.csv beside it."""
    root = tmp_path_factory.mktemp("synthetic_fer")
    train = synthetic_faces(12, seed=1)
    test = synthetic_faces(5, seed=2)
    write_folder_split(root / "folder", "train", *train)
    write_folder_split(root / "folder", "test", *test)
    write_csv(root / "fer2013.csv", {"train": train, "test": test})
    return root


@pytest.fixture(scope="session")
def tiny_model(synthetic_dataset, tmp_path_factory) -> Path:
    """A mini-Xception trained for one epoch on the synthetic data by the real training code."""
    from fer_core.training.train import TrainSettings, train

    out = tmp_path_factory.mktemp("tiny_run")
    train(TrainSettings(data=str(synthetic_dataset / "folder"), out=str(out), epochs=1, batch_size=32), verbose=0)
    return out / "model.keras"


@pytest.fixture(scope="session")
def fer_data_dir() -> Path:
    """The real FER2013 folder: skip without FER_DATA_DIR, fail if it is set but points to nothing."""
    value = os.environ.get("FER_DATA_DIR")
    if not value:
        pytest.skip("FER_DATA_DIR is not set")
    path = Path(value)
    assert (path / "train").is_dir() and (path / "test").is_dir(), f"FER_DATA_DIR={value} has no train/ and test/"
    return path
