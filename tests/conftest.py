"""Shared fixtures: generated FER-style datasets, a tiny trained model, and the real-data gate."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Converted TFLite models are cached per test session, not in the user's ~/.cache (the app servers the browser
# tests start inherit it).
os.environ.setdefault("FER_CACHE_DIR", tempfile.mkdtemp(prefix="fer_cache_"))

# As in app_support: pylibsrtp (streamlit-webrtc) must load before TensorFlow or it segfaults, and the AppTests
# import the app's pages in this process after fer_core has loaded TensorFlow.
import pylibsrtp  # noqa: E402, F401, I001

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fer_core.labels import EMOTIONS  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent


def synthetic_faces(per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 48, 48) images whose class k is a bright band at height ~6k, on noise: learnable, not faces."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for k in range(len(EMOTIONS)):
        for _ in range(per_class):
            image = rng.integers(0, 90, (48, 48), dtype=np.uint8)
            row = 3 + 6 * k + int(rng.integers(-1, 2))
            image[row:row + 4, 4:44] = 230
            images.append(image)
            labels.append(k)
    return np.stack(images), np.asarray(labels)


def write_folder_split(root: Path, split: str, images, labels, names=None) -> None:
    """Write images as PNG (lossless) into root/split/<class>/; names maps label index -> folder name."""
    names = names or EMOTIONS
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / split / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{split}_{i:05d}.png"), image)


def write_csv(path: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    usage = {"train": "Training", "test": "PublicTest"}
    with open(path, "w") as f:
        f.write("emotion,pixels,Usage\n")
        for split, (images, labels) in splits.items():
            for image, label in zip(images, labels, strict=True):
                f.write(f"{label},{' '.join(map(str, image.ravel()))},{usage[split]}\n")


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
    from fer_core.training import TrainSettings, train

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


def face_scene(fer_root: Path, n_faces: int = 3, face_px: int = 150, size=(480, 640), seed: int = 0):
    """A BGR scene with real FER2013 test faces pasted, upscaled, at known places; returns (image, boxes)."""
    rng = np.random.default_rng(seed)
    paths = sorted((fer_root / "test" / "happy").glob("*.jpg"))[: 40]
    scene = np.full((*size, 3), 120, np.uint8)
    boxes = []
    gap = (size[1] - n_faces * face_px) // (n_faces + 1)
    for i in range(n_faces):
        face = cv2.imread(str(paths[int(rng.integers(len(paths)))]), cv2.IMREAD_GRAYSCALE)
        face = cv2.resize(face, (face_px, face_px), interpolation=cv2.INTER_CUBIC)
        x, y = gap + i * (face_px + gap), (size[0] - face_px) // 2
        scene[y:y + face_px, x:x + face_px] = face[..., None]
        boxes.append((x, y, face_px, face_px))
    return scene, boxes


def open_page(page: str | None = None, timeout: int = 180):
    """An AppTest of the app started from its entry script, switched to pages/<page> when given, and run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=timeout).run()
    if page:
        at.switch_page(f"pages/{page}").run()
    return at
