"""Which members to average, and with what shares: every subset of the given models (or, with --weight-step,
every weighting on a grid), scored on the scorecard's measures at once.

    .venv/bin/python -m benchmarks.ensemble_search runs/vgg_fast_long90 runs/vgg_fast_ferplus05_long90 \
        runs/vgg_fast_ferplus07 [--tta mirror] [--reference models/fer-default-1.0] [--weight-step 0.1] \
        [--json benchmarks/results/ensemble_search.json]

Each model's probabilities are computed once per measure (PublicTest in the dataset's pixels with FER2013's labels
and with the FER+ majority, PublicTest in raw pixels, the largest face of each Taiwanese photo and of each of the
scorecard's scenes, detected once for all models); an ensemble is the weighted mean of its members' probabilities
(equal shares for a subset), which is what `python -m fer_core ensemble --weights` builds. An image with no face
found counts as wrong, as in the scorecard. The reference model is scored alongside but never joins a subset.
Writes the rows as JSON, with how often FER2013's label is the FER+ majority (the most a model can score on both
at once), and prints a markdown table, best FER2013-label accuracy first. Not a test.
"""

from __future__ import annotations

import argparse
import json
from itertools import combinations, product
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
from fer_core.training.scenes import scene_faces
from fer_core.training.scorecard import largest_face, read_labelled_images

SHARED = Path(__file__).resolve().parents[2] / "shared"
MEASURES = ("original", "raw", "ferplus", "end_to_end", "scene")


def largest_faces(analyzer: Analyzer, labelled_images) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model inputs of the largest face of each (image, label index), the label indices, and which images had a
    face."""
    inputs, truth, found = [], [], []
    for image, label in labelled_images:
        detections = detect(image, analyzer.detector)
        truth.append(label)
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
    analyzer = Analyzer(predictor)
    photos = ((read_image(path), labels.index(emotion)) for path, emotion in read_labelled_images(e2e)
              if emotion in labels)
    faces, truth, found = largest_faces(analyzer, photos)
    # The scorecard's scenes: the raw faces pasted at seeded random sizes, angles and places (scorecard.scene).
    scenes = ((scene, label) for (scene, _), label in zip(scene_faces(raw_set), raw_set.labels, strict=True))
    scene_inputs, scene_truth, scene_found = largest_faces(analyzer, scenes)
    inputs = {"test": to_model_input(test.images), "raw": to_model_input(raw_set.images), "end_to_end": faces,
              "scene": scene_inputs}
    measures = {"original": ("test", test.labels, np.ones(len(test.labels), bool)),
                "raw": ("raw", raw_set.labels, np.ones(len(raw_set.labels), bool)),
                "ferplus": ("test", majority, majority >= 0),
                "end_to_end": ("end_to_end", truth, found),
                "scene": ("scene", scene_truth, scene_found)}
    return inputs, measures


def probabilities(model_path, inputs: dict, tta: str) -> dict:
    predictor = Predictor.load(model_path)
    return {name: predictor.predict_proba(x, tta=tta) for name, x in inputs.items()}


def accuracy(mean_probabilities: np.ndarray, truth: np.ndarray, mask: np.ndarray, measure: str) -> float:
    """End to end and in scenes, the probabilities cover only images with a face; elsewhere only the scored rows
    count."""
    predicted = mean_probabilities.argmax(axis=1)
    if measure in ("end_to_end", "scene"):
        return float(np.sum(predicted == truth[mask]) / truth.size)
    return float(np.mean(predicted[mask] == truth[mask]))


def score(members: list[dict], measures: dict, weights=None) -> dict:
    return {m: accuracy(np.average([p[source] for p in members], axis=0, weights=weights), truth, mask, m)
            for m, (source, truth, mask) in measures.items()}


def weight_grid(count: int, step: float) -> list[tuple[float, ...]]:
    """Every choice of `count` non-negative shares in multiples of `step` that sum to 1."""
    units = round(1 / step)
    return [tuple(round(k * step, 6) for k in (*ks, units - sum(ks)))
            for ks in product(range(units + 1), repeat=count - 1) if sum(ks) <= units]


def rows_of(member_probabilities: dict, measures: dict, step: float | None) -> list[dict]:
    names = list(member_probabilities)
    if step is None:
        return [{"members": list(subset), **score([member_probabilities[n] for n in subset], measures)}
                for k in range(1, len(names) + 1) for subset in combinations(names, k)]
    return [{"members": [n for n, w in zip(names, weights, strict=True) if w], "weights": [w for w in weights if w],
             **score(list(member_probabilities.values()), measures, weights)}
            for weights in weight_grid(len(names), step)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="run folders or model folders (their model.keras is used)")
    parser.add_argument("--tta", default="mirror")
    parser.add_argument("--reference", help="a model scored alongside, never a member")
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--raw", default=str(SHARED / "data" / "fer2013_raw"))
    parser.add_argument("--e2e", default=str(SHARED / "data" / "taiwanese"))
    parser.add_argument("--weight-step", type=float, help="score every weighting in multiples of this share")
    parser.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "ensemble_search.json"))
    args = parser.parse_args()
    runs = [read_run(m) for m in args.models]
    inputs, measures = measure_sets(Predictor.load(runs[0].model_path), args.data, args.raw, args.e2e)
    member_probabilities = {run.name: probabilities(run.model_path, inputs, args.tta) for run in runs}
    rows = rows_of(member_probabilities, measures, args.weight_step)
    rows.sort(key=lambda row: row["original"], reverse=True)
    if args.reference:
        reference = read_run(args.reference)
        rows.insert(0, {"members": [f"reference: {reference.name}"],
                        **score([probabilities(reference.model_path, inputs, args.tta)], measures)})
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    _, labels_truth, _ = measures["original"]
    _, majority, scored = measures["ferplus"]
    agreement = float(np.mean(labels_truth[scored] == majority[scored]))
    out.write_text(json.dumps({"tta": args.tta, "models": args.models, "labels_agree_with_ferplus": agreement,
                               "rows": rows}, indent=2) + "\n")
    print(f"TTA {args.tta}; end to end and scenes: largest face, no face found counts as wrong; FER2013's label is "
          f"the FER+ majority on {agreement:.2%} of the scored faces\n")
    print("| members | " + " | ".join(MEASURES) + " |\n|---|" + "---|" * len(MEASURES))
    for row in rows:
        shares = [f"{w:g} " for w in row["weights"]] if "weights" in row else [""] * len(row["members"])
        members = " + ".join(w + n for w, n in zip(shares, row["members"], strict=True))
        print(f"| {members} | " + " | ".join(f"{row[m]:.2%}" for m in MEASURES) + " |")


if __name__ == "__main__":
    main()
