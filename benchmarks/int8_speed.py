"""Whether full-integer post-training quantisation pays: each model converted to TFLite in float32 (as `ship` does)
and in int8 with float input and output (TFLiteConverter, Optimize.DEFAULT, calibrated on training faces), then
timed on LiteRT at batch 1, one view and mirror, and scored on PublicTest (FER2013's labels, one view).

    python -m benchmarks.int8_speed --data ../shared/data/fer2013 --models PATH.keras ... \
        [--json benchmarks/results/int8_speed.json]

Needs Keras on the TensorFlow backend (the converter). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.realtime import machine
from fer_core.inference import tflite
from fer_core.inference.predictor import Predictor, load_keras_model
from fer_core.training.data import load_dataset
from fer_core.training.evaluation import evaluate_dataset, inference_speed, to_model_input

CALIBRATION_FACES = 500


def converted_both_ways(model, calibration: np.ndarray) -> dict[str, bytes]:
    """The float32 conversion `ship` writes (tflite.convert), and the same SavedModel quantised to int8."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([calibration[i:i + 1]] for i in range(len(calibration)))
        return {"float32": tflite.convert(model), "int8": converter.convert()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="FER2013 folder: train/ calibrates, test/ scores")
    parser.add_argument("--models", nargs="+", required=True, help=".keras files")
    parser.add_argument("--repeats", type=int, default=600)
    parser.add_argument("--json", default="benchmarks/results/int8_speed.json")
    args = parser.parse_args()
    train, test = load_dataset(args.data, "train"), load_dataset(args.data, "test")
    chosen = np.random.default_rng(0).choice(len(train.images), CALIBRATION_FACES, replace=False)
    calibration = to_model_input(train.images[chosen])
    results: dict = {"machine": machine(), "calibration_faces": CALIBRATION_FACES, "models": {}}
    for path in args.models:
        results["models"][path] = {}
        for kind, content in converted_both_ways(load_keras_model(path), calibration).items():
            predictor = Predictor(tflite_runner=tflite.TFLiteRunner(content), name=kind)
            measured = {"bytes": len(content), "publictest_accuracy": evaluate_dataset(predictor, test)["accuracy"]}
            for tta in ("none", "mirror"):
                measured[f"batch1_ms_{tta}"] = inference_speed(predictor, tta, repeats=args.repeats)["batch1_ms"]
            results["models"][path][kind] = measured
            print(f"{path} {kind}: {measured['bytes'] / 1e6:.1f} MB, PublicTest "
                  f"{100 * measured['publictest_accuracy']:.2f}%, {measured['batch1_ms_none']:.2f} ms one view, "
                  f"{measured['batch1_ms_mirror']:.2f} ms mirror", flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
