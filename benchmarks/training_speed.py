"""Training throughput of `vgg_fast` on this machine: images/s of `keras.Model.fit` fed three ways.

- arrays: model input prepared once and handed to fit as numpy arrays (the network's cost alone);
- batches: `fer_core.training.train.FaceBatches` without augmentation (adds preprocessing and the PyDataset path);
- augmented: `FaceBatches` as `train` runs it, with flips, rotations, zoom, shifts and random erasing.

Faces are random: throughput does not depend on what they show. The backend is whatever KERAS_BACKEND selects, so
run it once per backend, with and without `fer_core.machine.keep_freed_memory` (which `train` calls):

    python -m benchmarks.training_speed [--keep-freed-memory]
    KERAS_BACKEND=torch python -m benchmarks.training_speed [--keep-freed-memory]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import keras
import numpy as np

from fer_core.inference.preprocess import to_model_input
from fer_core.machine import keep_freed_memory, usable_cores
from fer_core.training.settings import TrainSettings
from fer_core.training.train import FaceBatches, _new_model

RESULTS = Path(__file__).parent / "results" / "training_speed.json"
CLASSES = 7


def _images_per_second(model, feed, images: int, epochs: int) -> float:
    model.fit(feed() if callable(feed) else feed[0], None if callable(feed) else feed[1], batch_size=64,
              epochs=1, verbose=0)  # warm-up: tracing and first allocations
    started = time.perf_counter()
    for _ in range(epochs):
        if callable(feed):
            model.fit(feed(), epochs=1, verbose=0)
        else:
            model.fit(feed[0], feed[1], batch_size=64, epochs=1, shuffle=True, verbose=0)
    return images * epochs / (time.perf_counter() - started)


def measure(images: int, epochs: int, arch: str) -> dict:
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (images, 48, 48), dtype=np.uint8)
    labels = rng.integers(0, CLASSES, images)
    targets = np.eye(CLASSES, dtype=np.float32)[labels]

    def settings(augment: bool) -> TrainSettings:
        return TrainSettings(data="-", out="-", arch=arch, batch_size=64, augment=augment, random_erasing=0.25,
                             label_smoothing=0.1)

    results = {}
    for name, feed in (("arrays", (to_model_input(faces), targets)),
                       ("batches", lambda: FaceBatches(faces, labels, targets, settings(False))),
                       ("augmented", lambda: FaceBatches(faces, labels, targets, settings(True)))):
        model = _new_model(settings(True), CLASSES)
        results[name] = round(_images_per_second(model, feed, images, epochs), 1)
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64 * 80, help="faces per timed epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per feed")
    parser.add_argument("--arch", default="vgg_fast")
    parser.add_argument("--keep-freed-memory", action="store_true", help="as train runs: glibc keeps freed memory")
    args = parser.parse_args(argv)
    kept = keep_freed_memory() if args.keep_freed_memory else False
    before = resource.getrusage(resource.RUSAGE_SELF)
    speed = measure(args.images, args.epochs, args.arch)
    after = resource.getrusage(resource.RUSAGE_SELF)
    record = {"backend": keras.backend.backend(), "keras": keras.__version__, "cores": usable_cores(),
              "arch": args.arch, "keep_freed_memory": kept,
              "images_per_second": speed,
              # The share of the process's CPU time spent in the kernel (page faults, mostly) while it trained.
              "kernel_share_of_cpu": round((after.ru_stime - before.ru_stime) / (
                  after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime), 3)}
    print(json.dumps(record, indent=2))
    stored = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    stored[f"{record['backend']}, {'keep' if kept else 'default'} malloc"] = record
    RESULTS.write_text(json.dumps(stored, indent=2) + "\n")


if __name__ == "__main__":
    main()
