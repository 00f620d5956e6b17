"""How a detected face should become the classifier's crop, chosen on several kinds of faces at once.

    .venv/bin/python -m benchmarks.crop_choice [--model M] [--tta mirror] [--detector yunet]

Each crop rule (box framings, and alignment to FER2013's landmark template at a few zooms) is scored on:
- scene: FER2013 PublicTest faces in raw pixels pasted into 384 px scenes at random sizes, angles and places
  (fer_core.training.scenes, as `evaluate --scene`), detected and cropped; accuracy as a share of the same faces'
  direct-crop accuracy, a missed face counting as wrong;
- end_to_end: the Taiwanese posed portraits, largest face of each photo (as `evaluate --e2e`);
- ferplus: PublicTest against the FER+ majority label on direct crops, which no crop rule changes; it is in the
  mean so that the mean is the one the scorecard's three measures of what users see give.
Each photo and scene is detected once; every rule crops the same detections. For alignment the script also reports
how far the aligner's pose is from the true one in the scenes (angle, scale, centre), which is the residual that
training augmentation has to cover. Writes benchmarks/results/crop_choice.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_core.inference.align import LANDMARK_WEIGHTS, aligned_crop, alignment, plausible
from fer_core.inference.detect import FER2013_FRAMING, DetectorConfig, detect
from fer_core.inference.framing import FaceFraming, crop_face, zoomed_framing
from fer_core.inference.imageio import read_image
from fer_core.inference.predictor import Predictor
from fer_core.inference.preprocess import preprocess_faces, to_model_input
from fer_core.labels import label_index
from fer_core.training import ferplus
from fer_core.training.data import load_dataset
from fer_core.training.scenes import scene_faces
from fer_core.training.scorecard import largest_face, read_labelled_images

SHARED = Path(__file__).resolve().parents[2] / "shared"
# Landmark weights (eyes, nose, mouth corners) of the aligner's fit.
MOUTH_WEIGHTS = {"all five points": (1, 1, 1, 1, 1), "mouth at half weight": (1, 1, 1, 0.5, 0.5),
                 "eyes and nose": (1, 1, 1, 0, 0)}


@dataclass(frozen=True)
class CropRule:
    name: str
    framing: FaceFraming
    zoom: float | None = None  # aligned (fer_core.inference.align) with this zoom; None: box framing only
    weights: tuple = LANDMARK_WEIGHTS

    def crop(self, image, detection):
        if self.zoom is not None:
            aligned = aligned_crop(image, detection, self.zoom, self.weights)
            if aligned is not None:
                return aligned
        return crop_face(image, detection, self.framing)


def rules(method: str, zooms) -> list[CropRule]:
    measured = FER2013_FRAMING[method]
    before = {"yunet": FaceFraming(square=True, scale=0.8, shift_y=-0.1),
              "haar": FaceFraming(square=True, scale=0.75, shift_y=-0.05)}[method]
    found = [CropRule("box, before (tuned on the Taiwanese set)", before),
             CropRule("box, square 1.0", FaceFraming(square=True))]
    for z in zooms:
        found.append(CropRule(f"box, FER2013 framing, zoom {z}", zoomed_framing(measured, z)))
        if method == "yunet":  # faces whose landmarks are implausible get the box framing at the same zoom
            for name, weights in MOUTH_WEIGHTS.items():
                found.append(CropRule(f"aligned ({name}), zoom {z}", zoomed_framing(measured, z), z, weights))
    return found


def pose_error(detection, pose) -> dict | None:
    """The aligner's pose against the scene's true one: angle (degrees), scale (ratio), centre (face units)."""
    if detection.landmarks is None:
        return None
    fit = alignment(detection.landmarks)
    if not plausible(fit, detection.box):
        return None
    linear, offset = fit.image_to_face[:, :2], fit.image_to_face[:, 2]
    centre = np.linalg.solve(linear, np.array([0.5, 0.5]) - offset)
    return {"angle": fit.angle - pose.angle, "scale": fit.face_px / pose.face_px,
            "centre": float(np.hypot(*(centre - np.asarray(pose.centre)))) / pose.face_px}


def collect(images, config: DetectorConfig, crop_rules: list[CropRule], poses=None):
    """Per rule, the model inputs of each image's largest face (None where no face was found); pose errors."""
    inputs = {rule.name: [] for rule in crop_rules}
    errors = []
    for i, image in enumerate(images):
        found = detect(image, config)
        face = largest_face(found) if found else None
        for rule in crop_rules:
            inputs[rule.name].append(None if face is None else preprocess_faces([rule.crop(image, face)])[0])
        if face is not None and poses is not None:
            error = pose_error(face, poses[i])
            if error is not None:
                errors.append(error)
    return inputs, errors


def accuracy(predictor, tta, inputs, truth) -> float:
    found = [i for i, x in enumerate(inputs) if x is not None]
    if not found:
        return 0.0
    predicted = predictor.predict_proba(np.stack([inputs[i] for i in found]), tta=tta).argmax(axis=1)
    return float(np.sum(predicted == np.asarray(truth)[found]) / len(truth))


def error_summary(errors: list[dict]) -> dict:
    table = {}
    for key in ("angle", "scale", "centre"):
        values = np.array([e[key] for e in errors])
        deviation = np.abs(values - 1.0) if key == "scale" else np.abs(values)
        table[key] = {"median": float(np.median(values)), "abs_p50": float(np.percentile(deviation, 50)),
                      "abs_p90": float(np.percentile(deviation, 90)), "abs_p99": float(np.percentile(deviation, 99))}
    return table | {"n": len(errors)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a .keras file (default: the shipped default)")
    parser.add_argument("--tta", help="default: the model's own mode")
    parser.add_argument("--detector", default="yunet", choices=["yunet", "haar"])
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--raw", default=str(SHARED / "data" / "fer2013_raw"))
    parser.add_argument("--e2e", default=str(SHARED / "data" / "taiwanese"))
    parser.add_argument("--zooms", type=float, nargs="+", default=[1.0, 1.1, 1.2, 1.3, 1.4],
                        help="aligned crops showing the face this many times larger than FER2013's median face")
    parser.add_argument("--max-angle", type=float, default=15.0, help="scenes turn faces by up to this (degrees)")
    parser.add_argument("--json", default="benchmarks/results/crop_choice.json")
    args = parser.parse_args()
    started = time.perf_counter()
    predictor = Predictor.load(args.model)
    tta = args.tta or predictor.tta_default
    labels = predictor.labels
    config = DetectorConfig(method=args.detector)
    crop_rules = rules(args.detector, args.zooms)

    raw = load_dataset(args.raw, "test", labels)
    direct = float(np.mean(predictor.predict_proba(to_model_input(raw.images), tta=tta).argmax(axis=1) == raw.labels))
    scenes = list(scene_faces(raw, max_angle=args.max_angle))
    scene_inputs, errors = collect([s for s, _ in scenes], config, crop_rules, [p for _, p in scenes])
    del scenes
    rows = read_labelled_images(args.e2e)
    index = label_index(labels)
    rows = [(path, emotion) for path, emotion in rows if emotion in index]
    e2e_inputs, _ = collect((read_image(path) for path, _ in rows), config, crop_rules)
    e2e_truth = [index[emotion] for _, emotion in rows]

    original = load_dataset(args.data, "test", labels)
    majority = ferplus.majority_labels(ferplus.votes_for(original, Path(args.data) / ferplus.FILE_NAME), labels)
    scored = majority >= 0
    predicted = predictor.predict_proba(to_model_input(original.images[scored]), tta=tta).argmax(axis=1)
    ferplus_accuracy = float(np.mean(predicted == majority[scored]))

    results = []
    for rule in crop_rules:
        scene_accuracy = accuracy(predictor, tta, scene_inputs[rule.name], raw.labels)
        e2e_accuracy = accuracy(predictor, tta, e2e_inputs[rule.name], e2e_truth)
        row = {"rule": rule.name, "framing": vars(rule.framing), "zoom": rule.zoom,
               "scene_accuracy": scene_accuracy, "scene_of_direct": scene_accuracy / direct,
               "end_to_end": e2e_accuracy, "ferplus": ferplus_accuracy,
               "mean": (scene_accuracy + e2e_accuracy + ferplus_accuracy) / 3}
        results.append(row)
        print(f"{rule.name:<42} scene {scene_accuracy:.4f} ({row['scene_of_direct']:.1%} of direct)  "
              f"Taiwanese {e2e_accuracy:.4f}  FER+ {ferplus_accuracy:.4f}  mean {row['mean']:.4f}")
    found = sum(x is not None for x in scene_inputs[crop_rules[0].name])
    report = {"model": predictor.name, "tta": tta, "detector": args.detector, "max_angle": args.max_angle,
              "direct_accuracy": direct,
              "scene_detection_rate": found / len(raw.labels),
              "e2e_no_face": sum(x is None for x in e2e_inputs[crop_rules[0].name]),
              "rules": results, "seconds": round(time.perf_counter() - started, 1)}
    if errors:
        report["alignment_error"] = error_summary(errors)
        print("alignment error in scenes:", json.dumps(report["alignment_error"]))
    print(f"direct crops {direct:.4f}; scenes with a face found {report['scene_detection_rate']:.1%}")
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if math.isfinite(direct) else 1


if __name__ == "__main__":
    raise SystemExit(main())
