"""FER+ crowd votes (Barsoum et al. 2016): ten annotators per FER2013 face, as soft training targets and as
majority labels to score against.

ferplus.csv has the columns file + VOTE_COLUMNS, file being the face's path inside the dataset folder
(test/angry/PublicTest_10116449.jpg). Faces are matched on the file name without its folder or extension, so the
same votes serve a copy of a split in other pixels or another format (fer2013_raw/test/angry/PublicTest_10116449.png).

How the votes become targets, and why:
- contempt has no FER2013 class and unknown is not an emotion: their votes are left out and the remaining
  emotion votes renormalised;
- a face whose top vote is not_face is not a face: training leaves it out;
- a face with no emotion votes (none in the file, or only contempt/unknown/not_face) keeps its original label.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fer_core.errors import UsageError
from fer_core.labels import label_index
from fer_core.training.data import Dataset

FILE_NAME = "ferplus.csv"
VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown",
                "not_face")
TO_EMOTION = {"neutral": "neutral", "happiness": "happy", "surprise": "surprise", "sadness": "sad",
              "anger": "angry", "disgust": "disgust", "fear": "fear"}
NOT_FACE = VOTE_COLUMNS.index("not_face")


class Votes(NamedTuple):
    """counts: int (N, 10) in VOTE_COLUMNS order, zeros where a face has no row; found: bool (N,)."""

    counts: np.ndarray
    found: np.ndarray


def _face_key(file: str) -> str:
    return Path(file).stem


def read_votes(csv_path) -> dict[str, np.ndarray]:
    """Face key (file name stem) -> its ten vote counts."""
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("file", *VOTE_COLUMNS) if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{csv_path}: missing columns {', '.join(missing)}")
        return {_face_key(row["file"]): np.array([int(row[c]) for c in VOTE_COLUMNS], np.int64) for row in reader}


def votes_for(dataset: Dataset, csv_path) -> Votes:
    """The votes of each face of a dataset loaded from an image folder (Dataset.files), in its order."""
    if len(dataset.files) != len(dataset.labels):
        raise UsageError("FER+ votes are matched by file name: load the dataset from an image folder, not a CSV")
    table = read_votes(csv_path)
    counts = np.zeros((len(dataset.files), len(VOTE_COLUMNS)), np.int64)
    found = np.zeros(len(dataset.files), bool)
    for i, file in enumerate(dataset.files):
        row = table.get(_face_key(file))
        if row is not None:
            counts[i], found[i] = row, True
    return Votes(counts, found)


def _emotion_columns(classes) -> tuple[np.ndarray, np.ndarray]:
    """Vote column indices that are classes of the model, and the class index each maps to."""
    index = label_index(classes)
    pairs = [(c, index[TO_EMOTION[name]]) for c, name in enumerate(VOTE_COLUMNS)
             if TO_EMOTION.get(name) in index]
    return np.array([c for c, _ in pairs]), np.array([k for _, k in pairs])


def emotion_distribution(votes: Votes, classes) -> np.ndarray:
    """float32 (N, len(classes)): each face's votes for the model's classes, normalised; zero rows where none."""
    columns, targets = _emotion_columns(classes)
    dist = np.zeros((len(votes.counts), len(classes)), np.float64)
    np.add.at(dist.T, targets, votes.counts[:, columns].T)
    totals = dist.sum(axis=1, keepdims=True)
    return np.divide(dist, totals, out=np.zeros_like(dist), where=totals > 0).astype(np.float32)


def majority_labels(votes: Votes, classes) -> np.ndarray:
    """Each face's FER+ majority as an index into classes, or -1 where there is none to score against: no votes,
    a tie for the most votes, or a top column that is not one of the classes (contempt, unknown, not_face)."""
    columns, targets = _emotion_columns(classes)
    column_to_class = dict(zip(columns.tolist(), targets.tolist(), strict=True))
    top = votes.counts.max(axis=1)
    ties = (votes.counts == top[:, None]).sum(axis=1) > 1
    winner = votes.counts.argmax(axis=1)
    labels = np.array([column_to_class.get(int(c), -1) for c in winner], np.int64)
    labels[ties | (top == 0) | ~votes.found] = -1
    return labels


def training_targets(dataset: Dataset, csv_path, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """(targets float32 (N, k), keep bool (N,)): (1 - weight) * the original one-hot label + weight * the FER+
    emotion distribution, the original label alone where there is no distribution, and keep False for faces
    whose top vote is not_face."""
    if not 0.0 <= weight <= 1.0:
        raise UsageError(f"the FER+ weight must lie in [0, 1], got {weight}")
    votes = votes_for(dataset, csv_path)
    k = len(dataset.classes)
    one_hot = np.eye(k, dtype=np.float32)[dataset.labels]
    dist = emotion_distribution(votes, dataset.classes)
    has_dist = dist.sum(axis=1) > 0
    targets = np.where(has_dist[:, None], (1 - weight) * one_hot + weight * dist, one_hot).astype(np.float32)
    keep = ~(votes.found & (votes.counts.argmax(axis=1) == NOT_FACE))
    return targets, keep
