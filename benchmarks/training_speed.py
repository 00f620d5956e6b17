"""Training throughput of an architecture (`vgg_fast` unless --arch) on this machine: images/s of `keras.Model.fit`
fed three ways.

- arrays: model input prepared once and handed to fit as numpy arrays (the network's cost alone);
- batches: `fer_core.training.train.FaceBatches` without augmentation (adds preprocessing and the PyDataset path);
- augmented: `FaceBatches` as `train` runs it, with flips, rotations, zoom, shifts and random erasing.

Each feed draws from 28,709 random faces, FER2013's training set's size, and a fixed number of steps is timed after
two warm-up steps. Throughput does not depend on what the faces show. With --keep-freed-memory,
`fer_core.machine.keep_freed_memory` is called after the warm-up, as `train` does. The backend is whatever
KERAS_BACKEND selects, and
--precision bfloat16 times bfloat16 compute (native on CPUs with AVX-512 BF16 or AMX), as `train --precision` does:

    python -m benchmarks.training_speed [--keep-freed-memory] [--precision bfloat16] [--arch vgg_fast]
                                        [--json benchmarks/results/training_speed.json]
    KERAS_BACKEND=torch python -m benchmarks.training_speed [--keep-freed-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import keras
import numpy as np

from fer_core import machine
from fer_core.inference.preprocess import to_model_input
from fer_core.machine import keep_freed_memory
from fer_core.training.settings import TrainSettings
from fer_core.training.train import DTYPE_POLICIES, FaceBatches, _new_model, dtype_policy

RESULTS = Path(__file__).parent / "results" / "training_speed.json"
CLASSES = 7
FACES = 28709
BATCH = 64
WARM_UP_STEPS = 2


def _cpu_seconds() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _timed_fit(model, feed, steps: int, keep: bool) -> dict:
    """images/s over `steps` steps after the warm-up, and the kernel's share of the CPU time they took."""
    x, y = feed
    batch_size = None if y is None else BATCH  # a PyDataset makes its own batches
    model.fit(x, y, batch_size=batch_size, steps_per_epoch=WARM_UP_STEPS, epochs=1, verbose=0)  # tracing
    if keep:
        keep_freed_memory()
    (user, system), started = _cpu_seconds(), time.perf_counter()
    model.fit(x, y, batch_size=batch_size, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    user_after, system_after = _cpu_seconds()
    kernel = (system_after - system) / max(user_after - user + system_after - system, 1e-9)
    return {"images_per_second": round(steps * BATCH / seconds, 1), "kernel_share_of_cpu": round(kernel, 3)}


def measure(steps: int, arch: str, keep: bool) -> dict:
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (FACES, 48, 48), dtype=np.uint8)
    labels = rng.integers(0, CLASSES, FACES)
    targets = np.eye(CLASSES, dtype=np.float32)[labels]

    def settings(augment: bool) -> TrainSettings:
        return TrainSettings(data="-", out="-", arch=arch, batch_size=BATCH, augment=augment, random_erasing=0.25,
                             label_smoothing=0.1)

    feeds = {"arrays": lambda: (to_model_input(faces), targets),
             "batches": lambda: (FaceBatches(faces, labels, targets, settings(False)), None),
             "augmented": lambda: (FaceBatches(faces, labels, targets, settings(True)), None)}
    return {name: _timed_fit(_new_model(settings(True), CLASSES), feed(), steps, keep) for name, feed in feeds.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=80, help="timed steps per feed")
    parser.add_argument("--arch", default="vgg_fast")
    parser.add_argument("--keep-freed-memory", action="store_true", help="as train runs: glibc keeps freed memory")
    parser.add_argument("--precision", choices=sorted(DTYPE_POLICIES), default="float32",
                        help="compute precision, as train --precision")
    parser.add_argument("--json", default=str(RESULTS),
                        help="results file, keyed by architecture, machine, backend and precision")
    args = parser.parse_args(argv)
    policy = DTYPE_POLICIES[args.precision]
    record = {"backend": keras.backend.backend(), "keras": keras.__version__, "machine": machine.describe(),
              "arch": args.arch, "keep_freed_memory": args.keep_freed_memory,
              "dtype_policy": policy,
              # fer_core turns TensorFlow's oneDNN custom ops off unless TF_ENABLE_ONEDNN_OPTS=1 is set
              "onednn": keras.backend.backend() == "tensorflow" and os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1",
              }
    with dtype_policy(policy):
        record["feeds"] = measure(args.steps, args.arch, args.keep_freed_memory)
    print(json.dumps(record, indent=2))
    results = Path(args.json)
    stored = json.loads(results.read_text()) if results.is_file() else {}
    malloc = "keep" if args.keep_freed_memory else "default"
    onednn = ", oneDNN on" if record["onednn"] else ""
    stored[f"{args.arch} on {record['machine']}: {record['backend']}{onednn}, {malloc} malloc, {policy}"] = record
    results.write_text(json.dumps(stored, indent=2) + "\n")


if __name__ == "__main__":
    main()
