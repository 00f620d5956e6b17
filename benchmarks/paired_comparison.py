"""Two models face by face: where each is right and the other wrong, and whether that difference is chance.

    .venv/bin/python -m benchmarks.paired_comparison --model-a models/fer-camera-1.0/model.keras \
        --model-b runs/vgg_fast_long90/model.keras [--tta none|mirror] \
        [--json benchmarks/results/paired_comparison.json]

On PublicTest in original pixels (FER2013's labels), on PublicTest against the FER+ crowd's majority label (faces
with a majority among the seven classes) and end to end on the Taiwanese development set (largest face, YuNet; no
face found counts as wrong), counts the faces only model A gets right and only model B gets right, and
gives the exact two-sided McNemar p-value: the chance of a split at least that uneven if both were equally good.
Writes the counts to --json and prints a markdown table. Not a test.
"""

from __future__ import annotations

import argparse
import json
from math import comb
from pathlib import Path

import numpy as np

from fer_core.inference.detect import detect
from fer_core.inference.imageio import read_image
from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.training import ferplus
from fer_core.training.data import load_dataset
from fer_core.training.scorecard import largest_face_emotion, read_labelled_images

SHARED = Path(__file__).resolve().parents[2] / "shared"


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar test: the binomial tail of the smaller count among the discordant faces, doubled."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2**n
    return min(1.0, 2 * tail)


def raw_correct(predictors: list[Predictor], raw_dir, tta: str) -> list[np.ndarray]:
    faces = load_dataset(raw_dir, "test", predictors[0].labels)
    model_input = to_model_input(faces.images)
    return [predictor.predict_proba(model_input, tta=tta).argmax(axis=1) == faces.labels for predictor in predictors]


def ferplus_correct(predictors: list[Predictor], data_dir, tta: str) -> list[np.ndarray]:
    faces = load_dataset(data_dir, "test", predictors[0].labels)
    majority = ferplus.majority_labels(ferplus.votes_for(faces, Path(data_dir) / ferplus.FILE_NAME),
                                       predictors[0].labels)
    scored = majority >= 0
    model_input = to_model_input(faces.images[scored])
    return [predictor.predict_proba(model_input, tta=tta).argmax(axis=1) == majority[scored]
            for predictor in predictors]


def end_to_end_correct(predictors: list[Predictor], folder, tta: str) -> list[np.ndarray]:
    """Each photo is read and its faces detected once; every model classifies the same detections."""
    analyzers = [Analyzer(predictor, tta=tta) for predictor in predictors]
    right = [[] for _ in analyzers]
    for path, emotion in read_labelled_images(folder):
        if emotion not in predictors[0].labels:
            continue
        image = read_image(path)
        detections = detect(image, analyzers[0].detector)
        for analyzer, marks in zip(analyzers, right, strict=True):
            marks.append(largest_face_emotion(analyzer, image, detections) == emotion)
    return [np.array(marks) for marks in right]


def compare(right_a: np.ndarray, right_b: np.ndarray) -> dict:
    only_a, only_b = int(np.sum(right_a & ~right_b)), int(np.sum(right_b & ~right_a))
    return {"n": int(right_a.size), "accuracy_a": float(right_a.mean()), "accuracy_b": float(right_b.mean()),
            "only_a_right": only_a, "only_b_right": only_b, "mcnemar_p": mcnemar_p(only_a, only_b)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-a", required=True)
    parser.add_argument("--model-b", required=True)
    parser.add_argument("--tta", default="none")
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--raw", default=str(SHARED / "data" / "fer2013_raw"))
    parser.add_argument("--e2e", default=str(SHARED / "data" / "taiwanese"))
    parser.add_argument("--json", default="benchmarks/results/paired_comparison.json")
    args = parser.parse_args()
    predictors = [Predictor.load(args.model_a), Predictor.load(args.model_b)]
    results = {"model_a": args.model_a, "model_b": args.model_b, "tta": args.tta,
               "raw": compare(*raw_correct(predictors, args.raw, args.tta)),
               "ferplus": compare(*ferplus_correct(predictors, args.data, args.tta)),
               "end_to_end": compare(*end_to_end_correct(predictors, args.e2e, args.tta))}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"A = {args.model_a}, B = {args.model_b}, TTA {args.tta}\n")
    print("| measure | faces | A | B | only A right | only B right | McNemar p |\n|---|---|---|---|---|---|---|")
    for measure in ("raw", "ferplus", "end_to_end"):
        r = results[measure]
        print(f"| {measure} | {r['n']} | {r['accuracy_a']:.2%} | {r['accuracy_b']:.2%} | {r['only_a_right']} | "
              f"{r['only_b_right']} | {r['mcnemar_p']:.2g} |")


if __name__ == "__main__":
    main()
