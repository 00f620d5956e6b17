"""Where FER2013's faces sit in their 48x48 frame, as the detectors see them: the landmark template and box framings
that fer_core.inference.align and detect.DEFAULT_FRAMING use.

    .venv/bin/python -m benchmarks.fer2013_template [--data ../shared/data/fer2013] [--split train] [--limit 6000]

Each face is upscaled 4x and pasted upright in the middle of a 384 px mid-grey scene (fer_core.training.scenes), then
YuNet and Haar run on the scene with the app's photo settings. For the face each finds, its box and YuNet's five
landmarks are mapped back to face units ((0, 0) the face's top-left corner, (1, 1) its bottom-right). Reported: the
detection rate, the median and quartiles of every coordinate, the landmark template (medians, and made
left-right symmetric, since a mirrored face is as much a FER2013 face as the original: training and TTA flip them),
and for each detector the box framing whose crop is FER2013's frame for the median box. Writes
benchmarks/results/fer2013_template.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from fer_core.inference.boxes import LANDMARK_NAMES
from fer_core.inference.detect import DetectorConfig, detect
from fer_core.training.data import load_dataset
from fer_core.training.scenes import centred_pose, paste_face

SHARED = Path(__file__).resolve().parents[2] / "shared"
# Which landmark a mirror image turns each landmark into (LANDMARK_NAMES order).
MIRROR = (1, 0, 2, 4, 3)


def to_face_units(points: np.ndarray, scene_matrix: np.ndarray) -> np.ndarray:
    """Scene pixels (N, 2) -> face units, inverting the face-to-scene similarity."""
    linear, offset = scene_matrix[:, :2], scene_matrix[:, 2]
    return (np.linalg.inv(linear) @ (np.asarray(points, float) - offset).T).T


def symmetric(template: np.ndarray) -> np.ndarray:
    """The mean of a 5-point template and its mirror image (x -> 1 - x, left and right swapped)."""
    mirrored = template[list(MIRROR)].copy()
    mirrored[:, 0] = 1.0 - mirrored[:, 0]
    return (template + mirrored) / 2


def framing_for(box: np.ndarray) -> dict:
    """The square box framing (fer_core.inference.framing.FaceFraming) whose crop is the face's frame, the unit square,
    for a box (x, y, w, h) in face units."""
    x, y, w, h = box
    return {"square": True, "scale": round(float(1.0 / max(w, h)), 3),
            "shift_x": round(float((0.5 - (x + w / 2)) / w), 3), "shift_y": round(float((0.5 - (y + h / 2)) / h), 3)}


def summary(values: np.ndarray) -> dict:
    q1, median, q3 = np.percentile(values, [25, 50, 75], axis=0)
    return {"median": np.round(median, 4).tolist(), "q1": np.round(q1, 4).tolist(), "q3": np.round(q3, 4).tolist()}


def measure(faces: np.ndarray, method: str) -> dict:
    pose = centred_pose()
    matrix = pose.face_to_scene()
    config = DetectorConfig(method=method)
    boxes, landmarks, started = [], [], time.perf_counter()
    for face in faces:
        found = detect(paste_face(face, pose), config)
        if not found:
            continue
        # The scene holds one face; the box nearest its centre is that face.
        nearest = min(found, key=lambda d: (d.box.x + d.box.w / 2 - pose.centre[0]) ** 2
                      + (d.box.y + d.box.h / 2 - pose.centre[1]) ** 2)
        x, y, w, h = nearest.box
        (x0, y0), (x1, y1) = to_face_units(np.array([[x, y], [x + w, y + h]]), matrix)
        boxes.append((x0, y0, x1 - x0, y1 - y0))
        if nearest.landmarks is not None:
            landmarks.append(to_face_units(np.array(nearest.landmarks), matrix))
    box_stats = summary(np.array(boxes))
    result = {"detector": method, "faces": len(faces), "found": len(boxes),
              "detection_rate": round(len(boxes) / len(faces), 4),
              "seconds_per_scene": round((time.perf_counter() - started) / len(faces), 4),
              "box_xywh": box_stats, "box_framing": framing_for(np.array(box_stats["median"]))}
    if landmarks:
        points = np.array(landmarks)
        median = np.median(points, axis=0)
        result["landmarks"] = {name: summary(points[:, i]) for i, name in enumerate(LANDMARK_NAMES)}
        result["template"] = np.round(median, 4).tolist()
        result["template_symmetric"] = np.round(symmetric(median), 4).tolist()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=6000, help="a random sample of this many faces (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="benchmarks/results/fer2013_template.json")
    args = parser.parse_args()
    faces = load_dataset(args.data, args.split).images
    if args.limit and args.limit < len(faces):
        faces = faces[np.sort(np.random.default_rng(args.seed).choice(len(faces), args.limit, replace=False))]
    results = {"command": " ".join(["python -m benchmarks.fer2013_template", *sys.argv[1:]]),
               "sample": {"split": args.split, "limit": args.limit, "seed": args.seed},
               "scene": "each face upscaled 4x (192 px) and pasted upright in the middle of a 384 px mid-grey scene",
               "units": "face units: (0, 0) the 48x48 face's top-left corner, (1, 1) its bottom-right",
               "landmark_order": list(LANDMARK_NAMES),
               "detectors": [measure(faces, method) for method in ("yunet", "haar")]}
    for row in results["detectors"]:
        print(f"{row['detector']}: found {row['found']}/{row['faces']} ({row['detection_rate']:.1%}), "
              f"median box {row['box_xywh']['median']}, framing {row['box_framing']}")
        if "template" in row:
            print(f"  template {row['template']}\n  symmetric {row['template_symmetric']}")
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
