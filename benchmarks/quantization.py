"""Whether int8 makes a model cheaper on LiteRT, and what it costs in accuracy.

    KERAS_BACKEND=tensorflow .venv/bin/python -m benchmarks.quantization models/fer-camera-1.2/model.keras \
        [--arch vgg_fast_wide ...] [--json benchmarks/results/quantization.json]

Converts each trained .keras model (and each named architecture, untrained: its time does not depend on the
weights) three ways: float32 as `ship` does; int8 weights with float activations (TFLite's dynamic range); and int8
weights and activations with float input and output, the activations' ranges calibrated on 500 training faces.
For each: the flatbuffer's size, the median batch-1 latency of the bare interpreter (no Predictor around it, so
lower than `arch_speed`'s figures) on this machine's usable cores, and, for trained models, PublicTest accuracy
with one view. Needs Keras on the TensorFlow backend (the converter). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.realtime import machine
from fer_core.inference import tflite
from fer_core.inference.preprocess import INPUT_SIZE, to_model_input
from fer_core.machine import usable_cores
from fer_core.training.architectures import ARCHITECTURES, build_model
from fer_core.training.data import load_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared"
MODES = ("float32", "dynamic_range_int8", "full_int8")
CALIBRATION_FACES = 500


def convert(model, mode: str, calibration: np.ndarray) -> bytes:
    if mode == "float32":
        return tflite.convert(model)
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "full_int8":
            def faces() -> Iterator[list[np.ndarray]]:
                for index in range(len(calibration)):
                    yield [calibration[index:index + 1]]
            converter.representative_dataset = faces
        return bytes(converter.convert())


def latency_ms(content: bytes, repeats: int) -> float:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=usable_cores())
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    face = np.random.default_rng(0).random((1, INPUT_SIZE, INPUT_SIZE, 1), dtype=np.float32)

    def once() -> float:
        start = time.perf_counter()
        interpreter.set_tensor(source, face)
        interpreter.invoke()
        return time.perf_counter() - start

    once()  # the first call packs the weights
    return 1e3 * statistics.median(once() for _ in range(repeats))


def main() -> int:
    import keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="trained .keras files")
    parser.add_argument("--arch", nargs="*", default=[], choices=sorted(ARCHITECTURES))
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--json", default="benchmarks/results/quantization.json")
    args = parser.parse_args()
    train = load_dataset(args.data, "train")
    chosen = np.random.default_rng(0).choice(len(train.labels), CALIBRATION_FACES, replace=False)
    calibration = to_model_input(train.images[chosen])
    test = load_dataset(args.data, "test")
    test_faces = to_model_input(test.images)
    results: dict = {"machine": machine(), "models": {}}
    targets = [(path, keras.saving.load_model(path, compile=False), True) for path in args.models]
    targets += [(f"{arch} (untrained)", build_model(arch), False) for arch in args.arch]
    for name, model, trained in targets:
        rows = results["models"][name] = {}
        for mode in MODES:
            content = convert(model, mode, calibration)
            row = rows[mode] = {"megabytes": round(len(content) / 1e6, 2),
                                "batch1_ms": round(latency_ms(content, args.repeats), 3)}
            if trained:
                predicted = tflite.TFLiteRunner(content)(test_faces).argmax(-1)
                row["publictest_one_view"] = float(np.mean(predicted == test.labels))
            print(f"{name} {mode}: " + ", ".join(f"{key} {value}" for key, value in row.items()), flush=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
