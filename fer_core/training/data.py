"""FER2013 loading from the Kaggle image-folder layout or the original fer2013.csv; both give the same arrays."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from fer_core.errors import MissingInputError, UsageError
from fer_core.inference.imageio import IMAGE_SUFFIXES
from fer_core.inference.preprocess import INPUT_SIZE, to_gray48
from fer_core.labels import EMOTIONS, canonical_emotion, label_index, parse_classes

log = logging.getLogger(__name__)

# Split name -> (folder names accepted, CSV Usage value).
SPLITS = {
    "train": ({"train", "training"}, "Training"),
    "test": ({"test", "publictest", "val", "validation"}, "PublicTest"),
    "private": ({"private", "privatetest"}, "PrivateTest"),
}


class Dataset(NamedTuple):
    """images: uint8 (N, 48, 48) gray; labels: int64 (N,) indices into classes.

    Faces come grouped by class in the order of `classes`; within a class, by file name (folders) or row (CSV).
    files: each face's path relative to the dataset folder, in the same order (empty for a CSV), which is how
    per-file annotations such as FER+ votes (fer_core.training.ferplus) find their faces."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    files: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        per_label = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, per_label, strict=True)}


def _split_name(split: str) -> str:
    key = split.strip().lower()
    for name, (folders, usage) in SPLITS.items():
        if key == name or key in folders or key == usage.lower():
            return name
    raise UsageError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")


def _stack_faces(faces: list[np.ndarray]) -> np.ndarray:
    return np.stack(faces) if faces else np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8)


def _dataset(images: list[np.ndarray], labels: list[int], classes: tuple[str, ...], files=()) -> Dataset:
    return Dataset(_stack_faces(images), np.asarray(labels, np.int64), classes, tuple(files))


def _read_face(path: Path) -> np.ndarray | None:
    """A dataset image file as 48x48 gray uint8 (any size, depth or channels), or None if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        log.warning("skipping unreadable image %s", path)
        return None
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    return to_gray48(image)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _class_dirs(root: Path) -> dict[str, Path]:
    """Canonical emotion -> its folder under root; unknown folders are skipped with a warning."""
    found: dict[str, Path] = {}
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        emotion = canonical_emotion(child.name)
        if emotion is None:
            log.warning("skipping folder %s: not one of the seven emotions", child)
            continue
        if emotion in found:
            log.warning("skipping folder %s: %s already read from %s", child, emotion, found[emotion])
            continue
        found[emotion] = child
    return found


def find_split_dir(root: Path, split: str) -> Path:
    """The folder of class folders for a split: root/<split> if present, else root itself."""
    split = _split_name(split)
    folders = SPLITS[split][0]
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        if child.name.lower() in folders:
            return child
    if _class_dirs_quiet(root):
        return root
    raise MissingInputError(f"{root} has no {split}/ folder and no emotion class folders")


def _class_dirs_quiet(root: Path) -> bool:
    return any(p.is_dir() and canonical_emotion(p.name) for p in root.iterdir())


def load_image_folder(root, split: str = "train", classes=None) -> Dataset:
    """Faces from <root>/<split>/<class>/*.jpg|png|... (or <root>/<class>/... when there is no split folder)."""
    classes = parse_classes(classes)
    index = label_index(classes)
    root = Path(root)
    split_dir = find_split_dir(root, split)
    images, labels, files = [], [], []
    folders = _class_dirs(split_dir)
    for emotion in (e for e in classes if e in folders):
        for path in _image_files(folders[emotion]):
            face = _read_face(path)
            if face is not None:
                images.append(face)
                labels.append(index[emotion])
                files.append(path.relative_to(root).as_posix())
    return _dataset(images, labels, classes, files)


def load_csv(path, split: str = "train", classes=None) -> Dataset:
    """Faces from the original fer2013.csv (emotion,pixels,Usage; emotion codes in EMOTIONS order)."""
    classes = parse_classes(classes)
    index = label_index(classes)
    usage = SPLITS[_split_name(split)][1]
    images, labels = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("Usage", usage).strip() != usage:
                continue
            emotion = EMOTIONS[int(row["emotion"])]
            if emotion not in index:
                continue
            pixels = np.asarray(row["pixels"].split(), dtype=np.uint8)
            if pixels.size != INPUT_SIZE * INPUT_SIZE:
                raise UsageError(f"{path}: a row has {pixels.size} pixels, expected {INPUT_SIZE ** 2}")
            images.append(pixels.reshape(INPUT_SIZE, INPUT_SIZE))
            labels.append(index[emotion])
    order = np.argsort(np.asarray(labels, np.int64), kind="stable")
    return _dataset([images[i] for i in order], [labels[i] for i in order], classes)


def load_dataset(path, split: str = "train", classes=None) -> Dataset:
    """A split from either layout: a .csv file, or a folder in the image-folder layout."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"no dataset at {path}")
    if path.is_file():
        return load_csv(path, split, classes)
    csv_file = path / "fer2013.csv"
    if csv_file.is_file() and not any(p.is_dir() for p in path.iterdir()):
        return load_csv(csv_file, split, classes)
    return load_image_folder(path, split, classes)


def available_splits(path) -> list[str]:
    """Which of train/test/private a dataset path holds (a bare class-folder tree counts as 'test')."""
    path = Path(path)
    if path.is_file():
        with open(path, newline="") as f:
            usages = {row.get("Usage", "Training").strip() for row in csv.DictReader(f)}
        return [name for name, (_, usage) in SPLITS.items() if usage in usages]
    names = {p.name.lower() for p in path.iterdir() if p.is_dir()}
    found = [name for name, (folders, _) in SPLITS.items() if names & folders]
    if not found and _class_dirs_quiet(path):
        found = ["test"]
    return found


def count_faces(path, split: str = "train") -> dict[str, int]:
    """Faces per class in a split without decoding images (file counts, or CSV rows)."""
    path = Path(path)
    counts = {name: 0 for name in EMOTIONS}
    if path.is_file():
        usage = SPLITS[_split_name(split)][1]
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("Usage", usage).strip() == usage:
                    counts[EMOTIONS[int(row["emotion"])]] += 1
        return counts
    for emotion, folder in _class_dirs(find_split_dir(path, split)).items():
        counts[emotion] = len(_image_files(folder))
    return counts


def sample_faces(path, split: str = "train", per_class: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """A few random faces per class, uint8 (k, 48, 48), reading only the sampled files of a folder layout."""
    path = Path(path)
    rng = np.random.default_rng(seed)
    if path.is_file():
        dataset = load_csv(path, split)
        return {name: dataset.images[rng.permutation(np.flatnonzero(dataset.labels == i))[:per_class]]
                for i, name in enumerate(dataset.classes)}
    samples = {}
    for emotion, folder in _class_dirs(find_split_dir(path, split)).items():
        files = _image_files(folder)
        faces = [_read_face(files[i]) for i in rng.permutation(len(files))[:per_class]]
        samples[emotion] = _stack_faces([f for f in faces if f is not None])
    return samples


# How every face reaches the model, as training records it beside the class counts (fer_core.inference.preprocess).
PREPROCESSING = "gray, resized to 48x48, each face histogram-equalised on its own, scaled to [0, 1]"


def data_record(path, splits) -> dict:
    """What a run trained and validated on, for readers without the data: its source, its preprocessing and the
    faces per class of each split used."""
    path = Path(path)
    layout = "fer2013.csv" if path.is_file() else "image folders (Kaggle layout: <split>/<class>/)"
    return {"source": str(path), "layout": layout, "preprocessing": PREPROCESSING,
            "class_counts": {split: count_faces(path, split) for split in dict.fromkeys(splits)}}
