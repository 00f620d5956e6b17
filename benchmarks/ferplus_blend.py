"""What a vote-trained network adds to a model when their probabilities are mixed, weight by weight.

    .venv/bin/python -m benchmarks.ferplus_blend --votes-model runs/vgg_fast_ferplus07/model.keras \
        [--model models/fer-default-1.0/model.keras] [--tta mirror]

Scores (1 - w) x the model's probabilities + w x the vote-trained network's on PublicTest with FER2013's labels, in
raw pixels and against the FER+ majority, for w from 0 to 0.5. Writes benchmarks/results/ferplus_blend.json and
prints a markdown table. Not a test.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import to_model_input
from fer_core.training import ferplus
from fer_core.training.data import load_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared"
WEIGHTS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes-model", required=True, help="a network trained with train --ferplus")
    parser.add_argument("--model", default="models/fer-default-1.0/model.keras")
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--raw", default=str(SHARED / "data" / "fer2013_raw"))
    parser.add_argument("--tta", default="mirror")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    model, votes_model = Predictor.load(args.model), Predictor.load(args.votes_model)
    original = load_dataset(args.data, "test", model.labels)
    raw = load_dataset(args.raw, "test", model.labels)
    majority = ferplus.majority_labels(ferplus.votes_for(original, Path(args.data) / ferplus.FILE_NAME), model.labels)
    scored = majority >= 0
    inputs = [to_model_input(d.images) for d in (original, raw)]
    probabilities = {name: [p.predict_proba(faces, args.tta) for faces in inputs]
                     for name, p in (("model", model), ("votes", votes_model))}
    rows = []
    for w in WEIGHTS:
        on_original, on_raw = ((1 - w) * probabilities["model"][i] + w * probabilities["votes"][i] for i in (0, 1))
        rows.append({"weight": w, "original": float(np.mean(on_original.argmax(1) == original.labels)),
                     "raw": float(np.mean(on_raw.argmax(1) == raw.labels)),
                     "ferplus": float(np.mean(on_original.argmax(1)[scored] == majority[scored]))})
    out = Path(__file__).parent / "results" / "ferplus_blend.json"
    out.write_text(json.dumps({"model": args.model, "votes_model": args.votes_model, "tta": args.tta,
                               "rows": rows}, indent=2))
    print("| weight of the vote-trained network | original | raw | FER+ majority |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['weight']} | {100 * row['original']:.2f}% | {100 * row['raw']:.2f}% | "
              f"{100 * row['ferplus']:.2f}% |")


if __name__ == "__main__":
    main()
