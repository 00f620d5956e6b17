"""What each training architecture would cost per face once shipped: LiteRT time per face, before any training;
and the same for trained models, plain and with the mirror.

    python -m benchmarks.arch_speed [--arch vgg_fast mobilenet_v2 ...] [--models PATH.keras ...]
                                    [--json benchmarks/results/arch_speed.json]

Builds each architecture as `train` does (ImageNet weights loaded where it has them; the cost does not depend on the
weights), converts it to TFLite as `ship` does, and times it with `fer_core.training.evaluation.inference_speed`:
median batch-1 latency and batch-32 throughput on random faces, one view. Needs Keras on the TensorFlow backend (the
converter). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.realtime import machine
from fer_core.inference.predictor import Predictor
from fer_core.training.architectures import ARCHITECTURES, build_model
from fer_core.training.evaluation import inference_speed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=sorted(ARCHITECTURES), choices=sorted(ARCHITECTURES))
    parser.add_argument("--models", nargs="*", default=[], help="trained .keras files to time as well")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--json", default="benchmarks/results/arch_speed.json")
    args = parser.parse_args()
    results: dict = {"machine": machine(), "architectures": {}}
    for arch in args.arch:
        model = build_model(arch)
        parameters = int(model.count_params())
        speed = inference_speed(Predictor(model, name=arch, engine="tflite"), repeats=args.repeats)
        results["architectures"][arch] = speed | {"parameters": parameters}
        print(f"{arch}: {parameters:,} parameters, {speed['batch1_ms']:.2f} ms per face at batch 1, "
              f"{speed['batch32_faces_per_s']:,.0f} faces/s at batch 32", flush=True)
    results["models"] = {}
    for path in args.models:
        predictor = Predictor.load(path, engine="tflite")
        results["models"][path] = {tta: inference_speed(predictor, tta, repeats=args.repeats)
                                   for tta in ("none", "mirror")}
        print(path + ": " + ", ".join(f"{tta} {speed['batch1_ms']:.2f} ms per face at batch 1"
                                      for tta, speed in results["models"][path].items()), flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
