"""Haar settings vs recall and time on the real photos, against full-resolution Haar (1.1, 5, 30 px).

    .venv/bin/python -m benchmarks.detection_sweep [--json benchmarks/results/detection_sweep.json]

For each setting: boxes found, true faces found (benchmarks/photo_faces.json, hand-checked), boxes on no true face,
how many of the reference detections it recovers (IoU >= 0.3), and the median detection time. Not a test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import cv2

from benchmarks.clips import REFERENCE_HAAR, match_faces
from fer_core.inference.detect import DetectorConfig, detect_faces
from fer_core.inference.tracking import iou

LABELS = Path(__file__).resolve().parent / "photo_faces.json"
PHOTOS = ("photo_5.jpg", "photo_13.jpg", "photo_21.jpg", "photo_23.jpg", "photo_24.jpg", "photo_11.jpg",
          "photo_26.jpg")


def recovered(boxes, reference) -> int:
    return sum(any(iou(r, b) >= 0.3 for b in boxes) for r in reference)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="benchmarks/results/detection_sweep.json")
    args = parser.parse_args()
    images = {name: cv2.imread(str(Path(args.photos) / name)) for name in PHOTOS}
    labelled = json.loads(LABELS.read_text())["faces"]
    reference = {name: detect_faces(image, REFERENCE_HAAR) for name, image in images.items()}
    settings = [REFERENCE_HAAR, DetectorConfig(method="haar")] + [
        DetectorConfig(method="haar", scale_factor=s, min_neighbors=n, min_face=m, max_side=side)
        for s, n, m, side in itertools.product((1.05, 1.1, 1.15), (4, 5, 6, 8), (16, 20, 24, 30), (1280,))
    ]
    rows = []
    for config in dict.fromkeys(settings):
        found = rec = true = 0
        seconds = []
        per_photo = {}
        for name, image in images.items():
            boxes = detect_faces(image, config)
            seconds.append(statistics.median(
                (lambda t0: (detect_faces(image, config), time.perf_counter() - t0)[1])(time.perf_counter())
                for _ in range(args.repeats)))
            found += len(boxes)
            rec += recovered(boxes, reference[name])
            per_photo[name] = match_faces(boxes, labelled[name])
            true += per_photo[name]
        rows.append({"scale_factor": config.scale_factor, "min_neighbors": config.min_neighbors,
                     "min_face": config.min_face, "max_side": config.max_side, "found": found, "true_faces": true,
                     "false_boxes": found - true, "true_per_photo": per_photo, "recovered": rec,
                     "reference": sum(map(len, reference.values())), "seconds_all_photos": sum(seconds)})
    rows.sort(key=lambda r: r["seconds_all_photos"])
    labelled_total = sum(map(len, labelled.values()))
    print(f"{'scale':>5} {'nbrs':>4} {'minf':>4} {'max_side':>8} {'found':>5} {'true':>4}/{labelled_total:<4} "
          f"{'false':>5} {'recov':>5}/{'ref':<4} {'ms (7 photos)':>13}")
    for r in rows:
        print(f"{r['scale_factor']:>5} {r['min_neighbors']:>4} {r['min_face']:>4} {str(r['max_side']):>8} "
              f"{r['found']:>5} {r['true_faces']:>4}/{labelled_total:<4} {r['false_boxes']:>5} "
              f"{r['recovered']:>5}/{r['reference']:<4} {1e3 * r['seconds_all_photos']:>13.0f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"reference_per_photo": {k: len(v) for k, v in reference.items()},
                                           "labelled_per_photo": {k: len(v) for k, v in labelled.items()},
                                           "sizes": {k: list(v.shape[:2]) for k, v in images.items()},
                                           "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
