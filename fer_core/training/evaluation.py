"""Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix (rows = true class)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np

from fer_core.errors import MissingInputError, UsageError
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.inference.tta import tta_mode, view_count
from fer_core.runs.folder import EVALUATION_FILES, read_run
from fer_core.training.data import Dataset, load_dataset


def compute_metrics(y_true, y_pred, labels) -> dict:
    """The evaluation JSON: accuracy, macro_f1, per_class, confusion_matrix (counts), labels, n."""
    y_true = np.asarray(y_true, np.int64)
    y_pred = np.asarray(y_pred, np.int64)
    k = len(labels)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    n = int(confusion.sum())
    per_class = {}
    for i, name in enumerate(labels):
        tp = int(confusion[i, i])
        predicted = int(confusion[:, i].sum())
        support = int(confusion[i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    # Like scikit-learn: average over the classes that occur in the truth or the predictions.
    occurring = confusion.sum(axis=0) + confusion.sum(axis=1) > 0
    present = [m["f1"] for m, seen in zip(per_class.values(), occurring, strict=True) if seen]
    return {
        "accuracy": float(np.trace(confusion) / n) if n else 0.0,
        "macro_f1": float(np.mean(present)) if present else 0.0,
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "labels": list(labels),
        "n": n,
    }


def evaluate_dataset(predictor: Predictor, dataset: Dataset, tta: str | bool = "none") -> dict:
    if tuple(dataset.classes) != predictor.labels:
        raise UsageError(f"dataset classes {dataset.classes} differ from the model's {predictor.labels}")
    probabilities = predictor.predict_proba(to_model_input(dataset.images), tta=tta)
    metrics = compute_metrics(dataset.labels, probabilities.argmax(axis=1), dataset.classes)
    metrics["tta"] = tta_mode(tta)
    metrics["model"] = predictor.name
    return metrics


def inference_speed(predictor: Predictor, tta: str | bool = "none", repeats: int = 200) -> dict:
    """Median cost per face on this machine: batch-1 latency and batch-32 throughput (random faces).

    repeats is for one view per face; a mode with more views takes proportionally fewer samples (at least 20), so
    timing the 18-view mode costs about what timing one view does instead of 18 times as much."""
    repeats = max(20, repeats // view_count(tta))
    rng = np.random.default_rng(0)
    one, batch = rng.random((1, 48, 48, 1), dtype=np.float32), rng.random((32, 48, 48, 1), dtype=np.float32)

    def seconds(faces) -> float:
        start = time.perf_counter()
        predictor.predict_proba(faces, tta=tta)
        return time.perf_counter() - start

    seconds(one), seconds(batch)  # warm-up: interpreters and compiled functions are built on first use
    return {"engine": predictor.engine, "tta": tta_mode(tta),
            "batch1_ms": 1e3 * statistics.median(seconds(one) for _ in range(repeats)),
            "batch32_faces_per_s": 32 / statistics.median(seconds(batch) for _ in range(max(1, repeats // 4)))}


def write_evaluations(run_dir, predictor: Predictor, dataset: Dataset, split: str, train_seconds: float) -> dict:
    """A run's evaluation files, one per TTA mode (run_folder.EVALUATION_FILES: metrics, split, training time, cost per
    face); returns the plain one."""
    results = {}
    for mode, name in EVALUATION_FILES.items():
        results[mode] = evaluate_dataset(predictor, dataset, tta=mode) | {
            "split": split, "train_seconds": round(train_seconds, 1), "inference": inference_speed(predictor, tta=mode)}
        (Path(run_dir) / name).write_text(json.dumps(results[mode], indent=2))
    return results["none"]


def rescore_model_folder(model_path, data) -> dict:
    """Rewrite every evaluation file beside a trained or shipped model.keras on the split it was validated on,
    keeping its recorded training time (e.g. after a new TTA mode was added); returns the plain evaluation."""
    model_path = Path(model_path)
    run = read_run(model_path.parent)
    if run.evaluation is None:
        missing = model_path.parent / EVALUATION_FILES["none"]
        raise MissingInputError(f"{missing} is missing: not a trained run's folder")
    predictor = Predictor.load(model_path)
    split = run.evaluation.get("split", "test")
    dataset = load_dataset(data, split, predictor.labels)
    return write_evaluations(model_path.parent, predictor, dataset, split, run.evaluation.get("train_seconds", 0.0))


def format_report(metrics: dict) -> str:
    """The metrics as a plain-text table for the terminal."""
    labels = metrics["labels"]
    width = max(8, *(len(name) for name in labels))
    lines = [f"n={metrics['n']}  accuracy={metrics['accuracy']:.4f}  macro-F1={metrics['macro_f1']:.4f}", ""]
    lines.append(f"{'class':<{width}} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}")
    for name in labels:
        m = metrics["per_class"][name]
        lines.append(f"{name:<{width}} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>7.3f} {m['support']:>8d}")
    lines += ["", "confusion matrix (rows = true, columns = predicted)"]
    short = [name[:7] for name in labels]
    lines.append(" " * width + " " + " ".join(f"{s:>7}" for s in short))
    for name, row in zip(labels, metrics["confusion_matrix"], strict=True):
        lines.append(f"{name:<{width}} " + " ".join(f"{v:>7d}" for v in row))
    return "\n".join(lines)


def calibration(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict:
    """How far confidence is from accuracy: faces binned by their top probability, each bin's mean confidence and
    accuracy, and the expected calibration error (the bins' gaps weighted by their share of faces)."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    # A top probability is at least 1/classes, and 1.0 belongs to the last bin.
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        mean_confidence, accuracy = float(confidence[mask].mean()), float(correct[mask].mean())
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "confidence": mean_confidence,
                     "accuracy": accuracy, "count": int(mask.sum())})
        ece += mask.mean() * abs(mean_confidence - accuracy)
    return {"bins": rows, "ece": float(ece), "n": int(len(labels))}


def confusion_examples(probabilities: np.ndarray, labels: np.ndarray, true: int, predicted: int) -> np.ndarray:
    """Indices of the faces of class `true` predicted as `predicted`, the most confident first (for a mistake: the
    most confident mistakes first)."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    chosen = np.flatnonzero((labels == true) & (probabilities.argmax(axis=1) == predicted))
    return chosen[np.argsort(-probabilities[chosen, predicted], kind="stable")]
