"""How steady the camera's labels are on a face that keeps one expression: label flips per minute and the share of
frames that carry each label, for crop rules and smoothing time constants.

    .venv/bin/python -m benchmarks.label_stability [--e2e ../shared/data/taiwanese] [--clip talk.mp4 ...]

Clips: by default up to 40 neutral and 40 happy portraits of the Taiwanese set (29 performers) each become a
webcam-like clip: 8 s at 15 frames/s, 640x480, the head drifting, turning and nearing the camera a little, with
sensor noise and flickering exposure. The expression never changes, so every flip is an error and every frame not
read as the posed label is a wrong label. Real recordings can be added with --clip (any file PyAV opens); for them
only flips and label shares are reported, as their truth is unknown.

Each clip runs through fer_core's camera path (LiveAnalyzer with the camera model: detection every other frame,
tracking, smoothing over time) and the largest tracked face's shown label is read on every frame. Writes
benchmarks/results/label_stability.json. Not a test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np

from fer_core.inference.framing import FaceFraming
from fer_core.inference.imageio import read_image
from fer_core.inference.live import LIVE_DETECTOR, LiveAnalyzer, LiveSettings
from fer_core.inference.predictor import Predictor
from fer_core.runs.registry import camera_model_path
from fer_core.training.scorecard import largest_face, read_labelled_images

SHARED = Path(__file__).resolve().parents[2] / "shared"
FPS, SECONDS, SIZE = 15.0, 8.0, (480, 640)
# The camera's crop before alignment: a box framing tuned on the Taiwanese set alone.
BEFORE = replace(LIVE_DETECTOR, align=False, framing=FaceFraming(square=True, scale=0.8, shift_y=-0.1))


def portrait_clip(photo: np.ndarray, seed: int) -> list[np.ndarray]:
    """A webcam-like clip of a still portrait: slow drift, roll and zoom, noise and exposure flicker."""
    rng = np.random.default_rng(seed)
    height, width = SIZE
    base = height / photo.shape[0]
    phases = rng.uniform(0, 2 * math.pi, 5)
    frames = []
    for i in range(int(FPS * SECONDS)):
        t = i / FPS
        scale = base * (1 + 0.05 * math.sin(0.7 * t + phases[0]))
        angle = 5 * math.sin(0.9 * t + phases[1])
        dx, dy = 40 * math.sin(0.5 * t + phases[2]), 15 * math.sin(0.8 * t + phases[3])
        matrix = cv2.getRotationMatrix2D((photo.shape[1] / 2, photo.shape[0] / 2), angle, scale)
        matrix[:, 2] += (width / 2 - photo.shape[1] / 2 + dx, height / 2 - photo.shape[0] / 2 + dy)
        frame = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        frame *= 1 + 0.06 * math.sin(2.1 * t + phases[4])
        frame += rng.normal(0, 3, frame.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def video_frames(path: Path, limit: int = 1800) -> tuple[list[np.ndarray], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or FPS)
        frames = [f.to_ndarray(format="bgr24") for f in itertools.islice(container.decode(stream), limit)]
    return frames, rate


def shown_labels(live: LiveAnalyzer, frames, fps: float) -> list[str | None]:
    live.reset()
    labels = []
    for i, frame in enumerate(frames):
        faces = live.process(frame, timestamp=i / fps)
        labels.append(largest_face(faces).emotion if faces else None)
    return labels


def stability(labels: list[str | None], fps: float, truth: str | None) -> dict:
    seen = [label for label in labels if label is not None]
    flips = sum(a != b for a, b in itertools.pairwise(seen))
    minutes = len(labels) / fps / 60
    shares = {label: count / len(labels) for label, count in Counter(seen).most_common()}
    row = {"frames": len(labels), "face_frames": len(seen), "flips": flips, "flips_per_minute": flips / minutes,
           "shares": shares}
    if truth is not None:
        row["right"] = sum(label == truth for label in labels) / len(labels)
    return row


def summarise(rows: list[dict]) -> dict:
    frames = sum(r["frames"] for r in rows)
    shares = Counter()
    for r in rows:
        for label, share in r["shares"].items():
            shares[label] += share * r["frames"]
    out = {"clips": len(rows), "flips_per_minute": float(np.mean([r["flips_per_minute"] for r in rows])),
           "shares": {k: round(v / frames, 4) for k, v in shares.most_common()}}
    if all("right" in r for r in rows):
        out["right"] = float(np.mean([r["right"] for r in rows]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--e2e", default=str(SHARED / "data" / "taiwanese"))
    parser.add_argument("--expressions", nargs="+", default=["neutral", "happy"])
    parser.add_argument("--per-expression", type=int, default=40, help="at most this many portraits of each")
    parser.add_argument("--clip", nargs="*", default=[], help="real recordings (label shares and flips only)")
    parser.add_argument("--model", help="default: the camera's model")
    parser.add_argument("--time-constants", type=float, nargs="+", default=[0.0, 0.15, 0.3, 0.5, 1.0])
    parser.add_argument("--json", default="benchmarks/results/label_stability.json")
    args = parser.parse_args()
    started = time.perf_counter()
    predictor = Predictor.load(args.model or camera_model_path())
    settings = [("before: box 0.8 / -0.1, no alignment, smoothing 0.15 s", BEFORE, 0.15)]
    settings += [(f"aligned, smoothing {tau} s", LIVE_DETECTOR, tau) for tau in args.time_constants]
    analyzers = [LiveAnalyzer(predictor, LiveSettings(detector=detector, time_constant=tau))
                 for _, detector, tau in settings]
    rows: list[dict] = [{} for _ in settings]  # per setting: clip name -> (truth, stability)
    taken = Counter()
    # One clip at a time, through every setting, so that only one clip's frames are held.
    for n, (path, emotion) in enumerate(read_labelled_images(args.e2e)):
        if emotion not in args.expressions or taken[emotion] >= args.per_expression:
            continue
        taken[emotion] += 1
        frames = portrait_clip(read_image(path), seed=n)
        for i, live in enumerate(analyzers):
            rows[i][path.name] = (emotion, stability(shown_labels(live, frames, FPS), FPS, emotion))
    for path in map(Path, args.clip):
        frames, fps = video_frames(path)
        for i, live in enumerate(analyzers):
            rows[i][path.name] = (None, stability(shown_labels(live, frames, fps), fps, None))
    results = []
    for (name, detector, tau), by_clip in zip(settings, rows, strict=True):
        groups = {}
        for expression in [*args.expressions, None]:
            chosen = [row for truth, row in by_clip.values() if truth == expression]
            if chosen:
                groups[expression or "recordings"] = summarise(chosen)
        results.append({"setting": name, "time_constant": tau, "align": detector.align,
                        "framing": vars(detector.crop_framing), "groups": groups,
                        "recordings": {clip: row for clip, (truth, row) in by_clip.items() if truth is None}})
        print(name)
        for group, summary in groups.items():
            top = ", ".join(f"{k} {v:.0%}" for k, v in list(summary["shares"].items())[:4])
            right = f", right {summary['right']:.1%}" if "right" in summary else ""
            print(f"  {group:<10} {summary['clips']:>3} clips: {summary['flips_per_minute']:.1f} flips/min{right}; "
                  f"{top}")
    report = {"model": predictor.name, "clip": f"{SECONDS:.0f} s at {FPS:.0f} frames/s, {SIZE[1]}x{SIZE[0]}",
              "detector": LIVE_DETECTOR.method,
              "results": results, "seconds": round(time.perf_counter() - started, 1)}
    Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
