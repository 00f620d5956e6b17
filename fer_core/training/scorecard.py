"""The scorecard: one JSON of what users see, beside a model as fer_core.runs.folder.SCORECARD_FILE.

Measures, each with accuracy, per-class recall, the confusion matrix and n (evaluation.compute_metrics):
- original: the validation split with FER2013's labels, in the dataset's pixels;
- raw: the same faces in original, unequalised pixels (a folder in the same layout, e.g. fer2013_raw);
- ferplus: FER2013's faces against the FER+ crowd's majority label (fer_core.training.ferplus.majority_labels);
  faces without a majority among the model's classes are not scored and are counted in "unscored";
- end_to_end: full labelled images (a folder with labels.csv: file,label): detect, crop and classify the
  largest face with fer_core.analyze; an image where no face is found counts as wrong ("no_face" of them).
- scene: the split's faces from a folder (e.g. fer2013_raw) each pasted into a 384 px scene at a random size, angle
  and place (fer_core.training.scenes), then detected, aligned and classified as a photo's largest face; a scene
  where no face is found counts as wrong. Reported with the detection rate and as a share of the accuracy the same
  faces get as direct 48x48 crops ("of_direct"): what detection and alignment keep of the classifier's accuracy.

All run the model in one test-time augmentation mode (by default its own, Predictor.tta_default).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from fer_core.errors import MissingInputError
from fer_core.inference.align import aligned_crop
from fer_core.inference.detect import detect
from fer_core.inference.imageio import read_image
from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.inference.tta import tta_mode
from fer_core.labels import canonical_emotion, label_index
from fer_core.training import ferplus
from fer_core.training.data import load_dataset
from fer_core.training.evaluation import compute_metrics
from fer_core.training.scenes import scene_faces

NO_FACE = "no face"
MEASURES = ("original", "raw", "ferplus", "end_to_end", "scene")


def _predict(predictor: Predictor, images: np.ndarray, tta: str) -> np.ndarray:
    return predictor.predict_proba(to_model_input(images), tta=tta).argmax(axis=1)


def _metrics(y_true, y_pred, labels, source) -> dict:
    return compute_metrics(y_true, y_pred, labels) | {"source": str(source)}


def read_labelled_images(folder) -> list[tuple[Path, str]]:
    """(image path, canonical emotion) for each row of folder/labels.csv; rows with other labels are skipped."""
    folder = Path(folder)
    table = folder / "labels.csv"
    if not table.is_file():
        raise MissingInputError(f"{table} is missing: an end-to-end folder needs labels.csv (file,label)")
    with open(table, newline="") as f:
        rows = [(folder / row["file"], canonical_emotion(row["label"])) for row in csv.DictReader(f)]
    return [(path, emotion) for path, emotion in rows if emotion is not None]


def largest_face(faces):
    """The face (a Detection or FaceResult) with the largest box, the one the end-to-end measure classifies."""
    return max(faces, key=lambda face: face.box[2] * face.box[3])


def largest_face_emotion(analyzer: Analyzer, image: np.ndarray, detections=None) -> str | None:
    """The emotion of the largest face; detections already found in image (by analyzer's detector settings) spare
    detecting it again."""
    faces = analyzer.analyze(image) if detections is None else analyzer.classify(image, detections)
    if not faces:
        return None
    return largest_face(faces).emotion


def _with_no_face(truth, predicted, labels) -> dict:
    """Metrics whose confusion columns are the model's classes plus NO_FACE (predicted index len(labels))."""
    metrics = compute_metrics(truth, predicted, [*labels, NO_FACE])
    metrics["per_class"].pop(NO_FACE)
    metrics["macro_f1"] = float(np.mean([m["f1"] for m in metrics["per_class"].values()]))
    return metrics | {"labels": labels, "predicted_labels": [*labels, NO_FACE],
                      "no_face": int(np.sum(np.asarray(predicted) == len(labels)))}


def end_to_end(analyzer: Analyzer, folder) -> dict:
    """The end_to_end measure (confusion columns: the model's classes plus NO_FACE)."""
    labels = list(analyzer.labels)
    index = label_index([*labels, NO_FACE])
    truth, predicted = [], []
    for path, emotion in read_labelled_images(folder):
        if emotion not in index:
            continue
        guess = largest_face_emotion(analyzer, read_image(path))
        truth.append(index[emotion])
        predicted.append(index[guess or NO_FACE])
    return _with_no_face(truth, predicted, labels) | {"source": str(folder)}


def scene(analyzer: Analyzer, folder, split: str = "test", seed: int = 0) -> dict:
    """The scene measure (confusion columns: the model's classes plus NO_FACE), with detection_rate, aligned (the
    share of found faces cropped from landmarks rather than their box), direct_accuracy and of_direct."""
    labels = list(analyzer.labels)
    dataset = load_dataset(folder, split, analyzer.labels)
    inputs, found, aligned = [], [], 0
    for i, (image, _) in enumerate(scene_faces(dataset, seed)):
        detections = detect(image, analyzer.detector)
        if not detections:
            continue
        face = largest_face(detections)
        aligned += analyzer.detector.align and aligned_crop(image, face) is not None
        inputs.append(analyzer.face_inputs(image, [face]))
        found.append(i)
    predicted = np.full(len(dataset.labels), len(labels))
    if found:
        predicted[found] = analyzer.predictor.predict_proba(np.concatenate(inputs), tta=analyzer.tta).argmax(axis=1)
    metrics = _with_no_face(dataset.labels, predicted, labels)
    direct = float(np.mean(_predict(analyzer.predictor, dataset.images, analyzer.tta) == dataset.labels))
    return metrics | {
        "source": str(folder), "seed": seed, "detector": analyzer.detector.method, "align": analyzer.detector.align,
        "detection_rate": len(found) / max(1, len(dataset.labels)), "aligned": aligned / max(1, len(found)),
        "direct_accuracy": direct, "of_direct": metrics["accuracy"] / direct if direct else 0.0}


def scorecard(predictor: Predictor, data, split: str = "test", tta: str | None = None, raw=None,
              ferplus_csv=None, e2e=None, analyzer: Analyzer | None = None, scenes=None) -> dict:
    """Every measure whose data is given; ferplus_csv defaults to data/ferplus.csv when that file exists."""
    tta = predictor.tta_default if tta is None else tta_mode(tta)
    labels = predictor.labels
    dataset = load_dataset(data, split, labels)
    predicted = _predict(predictor, dataset.images, tta)
    card = {"model": predictor.name, "tta": tta, "split": split,
            "original": _metrics(dataset.labels, predicted, labels, data)}
    if raw is not None:
        raw_set = load_dataset(raw, split, labels)
        card["raw"] = _metrics(raw_set.labels, _predict(predictor, raw_set.images, tta), labels, raw)
    if ferplus_csv is None and (Path(data) / ferplus.FILE_NAME).is_file():
        ferplus_csv = Path(data) / ferplus.FILE_NAME
    if ferplus_csv is not None:
        majority = ferplus.majority_labels(ferplus.votes_for(dataset, ferplus_csv), labels)
        scored = majority >= 0
        card["ferplus"] = _metrics(majority[scored], predicted[scored], labels, ferplus_csv) | {
            "unscored": int((~scored).sum())}
    analyzer = analyzer or Analyzer(predictor, tta=tta)
    if e2e is not None:
        card["end_to_end"] = end_to_end(analyzer, e2e) | {"detector": analyzer.detector.method,
                                                          "align": analyzer.detector.align}
    if scenes is not None:
        card["scene"] = scene(analyzer, scenes, split)
    return card


def format_scorecard(card: dict) -> str:
    """One line per measure and a per-class recall table, for the terminal."""
    present = [m for m in MEASURES if m in card]
    lines = [f"{card['model']}  (test-time augmentation: {card['tta']})", ""]
    for measure in present:
        m = card[measure]
        extra = (f", {m['unscored']} faces without a majority not scored" if "unscored" in m else "") + (
            f", no face found in {m['no_face']}" if "no_face" in m else "") + (
            f", {m['of_direct']:.1%} of direct crops' {m['direct_accuracy']:.4f}" if "of_direct" in m else "")
        lines.append(f"{measure:<11} accuracy {m['accuracy']:.4f}  n={m['n']}{extra}")
    lines += ["", "recall      " + " ".join(f"{m:>10}" for m in present)]
    for name in card["original"]["labels"]:
        lines.append(f"{name:<11} " + " ".join(f"{card[m]['per_class'][name]['recall']:>10.3f}" for m in present))
    return "\n".join(lines)
