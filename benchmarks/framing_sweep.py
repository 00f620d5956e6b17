"""How each detector's box should become the classifier's crop, measured end to end on a labelled folder.

    .venv/bin/python -m benchmarks.framing_sweep [--e2e ../shared/data/taiwanese] [--model M] [--tta none]

For each detector the largest face of every image is detected once; each framing
(fer_core.inference.framing.FaceFraming: square or not, scale, vertical shift, eyes levelled) then crops and classifies
those faces. An image with no face counts as wrong, as in `evaluate --e2e`. Writes
benchmarks/results/framing_sweep.json. Not a test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from fer_core.inference.detect import DetectorConfig, detect
from fer_core.inference.framing import FaceFraming, crop_face
from fer_core.inference.imageio import read_image
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import preprocess_faces
from fer_core.training.scorecard import read_labelled_images

SHARED = Path(__file__).resolve().parents[2] / "shared"
SCALES = (0.9, 1.0, 1.1, 1.2, 1.3)
SHIFTS = (-0.1, -0.05, 0.0, 0.05, 0.1)


def largest_faces(images, method: str):
    faces = []
    for image in images:
        found = detect(image, DetectorConfig(method=method))
        faces.append(max(found, key=lambda d: d.box.w * d.box.h) if found else None)
    return faces


def accuracy(predictor, tta, images, faces, truth, framing: FaceFraming) -> float:
    found = [i for i, face in enumerate(faces) if face is not None]
    crops = [crop_face(images[i], faces[i], framing) for i in found]
    predicted = predictor.predict_proba(preprocess_faces(crops), tta=tta).argmax(axis=1)
    labels = list(predictor.labels)
    return float(sum(labels[p] == truth[i] for p, i in zip(predicted, found, strict=True)) / len(truth))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--e2e", default=str(SHARED / "data" / "taiwanese"))
    parser.add_argument("--model", help="a .keras file (default: the shipped default)")
    parser.add_argument("--tta", default="none")
    parser.add_argument("--scales", type=float, nargs="+", default=SCALES)
    parser.add_argument("--shifts", type=float, nargs="+", default=SHIFTS)
    parser.add_argument("--square-only", action="store_true", help="skip crops of the box's own shape")
    parser.add_argument("--json", default="benchmarks/results/framing_sweep.json")
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    rows = read_labelled_images(args.e2e)
    images = [read_image(path) for path, _ in rows]
    truth = [emotion for _, emotion in rows]
    results = {"model": predictor.name, "tta": args.tta, "images": len(images), "detectors": {}}
    for method in ("haar", "yunet"):
        start = time.perf_counter()
        faces = largest_faces(images, method)
        seconds = time.perf_counter() - start
        levels = (False, True) if method == "yunet" else (False,)
        sweep = []
        squares = (True,) if args.square_only else (False, True)
        for square, scale, shift, level in itertools.product(squares, args.scales, args.shifts, levels):
            framing = FaceFraming(square, scale, shift, level)
            sweep.append({"square": square, "scale": scale, "shift_y": shift, "level_eyes": level,
                          "accuracy": accuracy(predictor, args.tta, images, faces, truth, framing)})
        best = max(sweep, key=lambda row: row["accuracy"])
        as_box = {"accuracy": accuracy(predictor, args.tta, images, faces, truth, FaceFraming())}
        results["detectors"][method] = {"faces_found": int(sum(f is not None for f in faces)),
                                        "detect_seconds_per_image": seconds / len(images), "best": best,
                                        "box_as_is": as_box, "sweep": sweep}
        print(f"{method}: a face in {results['detectors'][method]['faces_found']}/{len(images)} images; box as is "
              f"{as_box['accuracy']:.4f}; best {best['accuracy']:.4f} with {best}", flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
