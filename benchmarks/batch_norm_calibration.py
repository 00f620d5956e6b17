"""Does the 4,096-face sample that re-measures batch norm after weight averaging (fer_core.training.swa) cost accuracy?

Re-measures a model's batch norm on that sample and on every training face, and prints PublicTest accuracy of each,
plain and with the mirror. Usage:
    python -m benchmarks.batch_norm_calibration --data ../shared/data/fer2013 [--model models/RUN/model.keras]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fer_core.inference.predictor import Predictor, load_keras_model, read_labels
from fer_core.runs import registry
from fer_core.training import swa
from fer_core.training.data import load_dataset
from fer_core.training.evaluation import evaluate_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="dataset folder with train/ and test/")
    parser.add_argument("--model", default=str(registry.default_model_path()))
    args = parser.parse_args()
    train, test = load_dataset(args.data, "train"), load_dataset(args.data, "test")
    for name, faces in (("4,096-face sample (training's)", swa.calibration_faces(train.images, seed=0)),
                        (f"all {len(train.images):,} training faces", train.images)):
        model = load_keras_model(args.model)
        swa.recalibrate_batch_norm(model, faces)
        labels = read_labels(Path(args.model), model.output_shape[-1])
        predictor = Predictor(model, labels=labels, engine="function")
        for mode in ("none", "mirror"):
            accuracy = evaluate_dataset(predictor, test, tta=mode)["accuracy"]
            print(f"{name:32s} {mode:7s} {accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
