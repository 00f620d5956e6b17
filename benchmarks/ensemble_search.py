"""Which members to average: every subset of the given models, scored on the scorecard's measures at once.

    .venv/bin/python -m benchmarks.ensemble_search runs/vgg_fast_long90 runs/vgg_fast_ferplus05_long90 \
        runs/vgg_fast_ferplus07 [--tta mirror] [--reference models/fer-default-1.0]

Each model's probabilities are computed once per measure (PublicTest in the dataset's pixels with FER2013's labels
and with the FER+ majority, PublicTest in raw pixels, and the largest face of each Taiwanese photo, detected once
for all models); an ensemble of a subset is the mean of its members' probabilities, which is what
`python -m fer_core ensemble` builds. A photo with no face found counts as wrong, as in the scorecard. The
reference model is scored alongside but never joins a subset. Writes benchmarks/results/ensemble_search.json and
prints a markdown table, best FER2013-label accuracy first. Not a test.
"""

from __future__ import annotations

import argparse
import json
from itertools import combinations
from pathlib import Path

import numpy as np

from fer_core.inference.detect import detect
from fer_core.inference.imageio import read_image
from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.runs.folder import read_run
from fer_core.training import ferplus
from fer_core.training.data import load_dataset
from fer_core.training.scorecard import largest_face, read_labelled_images

SHARED = Path(__file__).resolve().parents[2] / "shared"
MEASURES = ("original", "raw", "ferplus", "end_to_end")


def largest_faces(analyzer: Analyzer, folder, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model inputs of the largest face of each labelled photo, its label index, and which photos had a face."""
    inputs, truth, found = [], [], []
    for path, emotion in read_labelled_images(folder):
        if emotion not in labels:
            continue
        image = read_image(path)
        detections = detect(image, analyzer.detector)
        truth.append(labels.index(emotion))
        found.append(bool(detections))
        if detections:
            inputs.append(analyzer.face_inputs(image, [largest_face(detections)]))
    return np.concatenate(inputs), np.array(truth), np.array(found)


def measure_sets(predictor: Predictor, data, raw, e2e) -> tuple[dict, dict]:
    """The model inputs (PublicTest serves two measures), and per measure: which inputs, the true label indices,
    and a mask of the rows those inputs stand for."""
    labels = list(predictor.labels)
    test = load_dataset(data, "test", labels)
    majority = ferplus.majority_labels(ferplus.votes_for(test, Path(data) / ferplus.FILE_NAME), labels)
    raw_set = load_dataset(raw, "test", labels)
    faces, truth, found = largest_faces(Analyzer(predictor), e2e, labels)
    inputs = {"test": to_model_input(test.images), "raw": to_model_input(raw_set.images), "end_to_end": faces}
    measures = {"original": ("test", test.labels, np.ones(len(test.labels), bool)),
                "raw": ("raw", raw_set.labels, np.ones(len(raw_set.labels), bool)),
                "ferplus": ("test", majority, majority >= 0),
                "end_to_end": ("end_to_end", truth, found)}
    return inputs, measures


def probabilities(model_path, inputs: dict, tta: str) -> dict:
    predictor = Predictor.load(model_path)
    return {name: predictor.predict_proba(x, tta=tta) for name, x in inputs.items()}


def accuracy(mean_probabilities: np.ndarray, truth: np.ndarray, mask: np.ndarray, measure: str) -> float:
    """End to end, the probabilities cover only photos with a face; elsewhere only the scored rows count."""
    predicted = mean_probabilities.argmax(axis=1)
    if measure == "end_to_end":
        return float(np.sum(predicted == truth[mask]) / truth.size)
    return float(np.mean(predicted[mask] == truth[mask]))


def score(members: list[dict], measures: dict) -> dict:
    return {m: accuracy(np.mean([p[source] for p in members], axis=0), truth, mask, m)
            for m, (source, truth, mask) in measures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="run folders or model folders (their model.keras is used)")
    parser.add_argument("--tta", default="mirror")
    parser.add_argument("--reference", help="a model scored alongside, never a member")
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--raw", default=str(SHARED / "data" / "fer2013_raw"))
    parser.add_argument("--e2e", default=str(SHARED / "data" / "taiwanese"))
    args = parser.parse_args()
    runs = [read_run(m) for m in args.models]
    inputs, measures = measure_sets(Predictor.load(runs[0].model_path), args.data, args.raw, args.e2e)
    member_probabilities = {run.name: probabilities(run.model_path, inputs, args.tta) for run in runs}
    rows = [{"members": list(subset), **score([member_probabilities[n] for n in subset], measures)}
            for k in range(1, len(runs) + 1) for subset in combinations(member_probabilities, k)]
    rows.sort(key=lambda row: row["original"], reverse=True)
    if args.reference:
        reference = read_run(args.reference)
        rows.insert(0, {"members": [f"reference: {reference.name}"],
                        **score([probabilities(reference.model_path, inputs, args.tta)], measures)})
    out = Path(__file__).resolve().parent / "results" / "ensemble_search.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"tta": args.tta, "models": args.models, "rows": rows}, indent=2) + "\n")
    print(f"TTA {args.tta}; end to end: largest face, no face found counts as wrong\n")
    print("| members | " + " | ".join(MEASURES) + " |\n|---|" + "---|" * len(MEASURES))
    for row in rows:
        print(f"| {' + '.join(row['members'])} | " + " | ".join(f"{row[m]:.2%}" for m in MEASURES) + " |")


if __name__ == "__main__":
    main()
