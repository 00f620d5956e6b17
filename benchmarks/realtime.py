"""Real-time benchmark: classification, LiveAnalyzer, analyze on photos, and the `fer` package on the same inputs.

    bash benchmarks/setup.sh                 # once: .venv-bench = the product's .venv + fer (--no-deps)
    .venv-bench/bin/python -m benchmarks.realtime [--frames 300] [--repeats 3] [--json benchmarks/results/realtime.json]

Prints a table and writes JSON. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np

from benchmarks.clips import face_clip, letterbox, match_faces, real_face_crops, true_faces
from fer_core import Predictor, analyze, default_analyzer
from fer_core.inference.detect import METHODS, DetectorConfig
from fer_core.inference.live import LIVE_DETECTOR, LiveAnalyzer, LiveSettings
from fer_core.runs.registry import camera_model_path
from fer_core.training.evaluation import inference_speed

PHOTOS = ("photo_5.jpg", "photo_13.jpg", "photo_23.jpg", "photo_21.jpg", "photo_24.jpg", "photo_11.jpg",
          "photo_26.jpg")


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    # The installed version, read from the package's metadata: importing TensorFlow would cost seconds and memory
    # that the benchmarks measuring start-up and footprint must not include.
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "tensorflow": _installed_version("tensorflow-cpu", "tensorflow"), "platform": platform.platform()}


def _installed_version(*distributions: str) -> str | None:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def classification(predictor: Predictor, repeats: int) -> dict:
    return inference_speed(predictor, repeats=200 * repeats)


def clip_fps(process, clip, repeats: int, reset=lambda: None) -> dict:
    """Frames/s of process(frame, index) over a clip, and faces found per frame (all, and on a pasted face)."""
    frames, truth = clip
    rates, found, true = [], [], []
    process(frames[0], 0)  # warm-up outside the timing
    for _ in range(repeats):
        reset()
        outputs = []
        start = time.perf_counter()
        for i, frame in enumerate(frames):
            outputs.append(process(frame, i))
        rates.append(len(frames) / (time.perf_counter() - start))
        found.append(float(np.mean([len(boxes) for boxes in outputs])))
        true.append(float(np.mean([true_faces(boxes, t) for boxes, t in zip(outputs, truth, strict=True)])))
    return {"fps": statistics.median(rates), "faces_per_frame": statistics.median(found),
            "true_faces_per_frame": statistics.median(true), "faces_in_clip": len(truth[0])}


def live_fps(predictor, clip, repeats: int, settings: LiveSettings = LiveSettings()) -> dict:
    live = LiveAnalyzer(predictor, settings)
    return clip_fps(lambda frame, i: [r.box for r in live.process(frame, i / 30)], clip, repeats, live.reset)


def fer_fps(detector, clip, repeats: int) -> dict:
    return clip_fps(lambda frame, i: [tuple(f["box"]) for f in detector.detect_emotions(frame)], clip, repeats)


def video_fps(predictor, clip, repeats: int) -> dict:
    """process_video over the clip encoded as H.264 MP4: decode, track, classify, draw, encode and CSV."""
    import tempfile

    import av

    from fer_core.inference.video import process_video

    frames, _ = clip
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "clip.mp4"
        with av.open(str(source), "w") as container:
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
            container.mux(stream.encode())
        rates = []
        for _ in range(repeats):
            summary = process_video(source, Path(tmp) / "out.mp4", Path(tmp) / "rows.csv", predictor=predictor)
            rates.append(summary.frames / summary.seconds)
    return {"fps": statistics.median(rates), "frames": len(frames)}


def photo_latency(fn, images, repeats: int, boxes_of=lambda found: [r.box for r in found]) -> dict:
    """Median time per photo, boxes found, and hand-checked true faces found (photos at their own size only)."""
    labelled = json.loads((Path(__file__).resolve().parent / "photo_faces.json").read_text())["faces"]
    out = {}
    for name, image in images.items():
        boxes = boxes_of(fn(image))
        out[name] = {"ms": 1e3 * statistics.median(timed(fn, image) for _ in range(repeats)), "faces": len(boxes)}
        if name in labelled:
            out[name]["true_faces"] = match_faces(boxes, labelled[name])
    return out


def photo_sizes(photos: Path) -> dict:
    """Each benchmark photo at its own size, letterboxed to 640x480 and to 1280x720."""
    images = {}
    for name in PHOTOS:
        photo = cv2.imread(str(photos / name))
        images[name] = photo
        images[f"{name} 640x480"] = letterbox(photo, (480, 640))
        images[f"{name} 1280x720"] = letterbox(photo, (720, 1280))
    return images


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"))
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="benchmarks/results/realtime.json")
    parser.add_argument("--no-fer", action="store_true", help="skip the fer package")
    args = parser.parse_args()

    photos = Path(args.photos)
    crops = real_face_crops(photos)
    clips = {"1 face": face_clip(crops, 1, args.frames), "6 faces": face_clip(crops, 6, args.frames, seed=1)}
    images = photo_sizes(photos)
    analyzer = default_analyzer()
    # The camera path may use a lighter model than photos and videos (fer_core.runs.registry.CAMERA_MODEL).
    camera = Predictor.load(camera_model_path())
    results = {"machine": machine(), "model": analyzer.predictor.name, "engine": analyzer.predictor.engine,
               "tta": analyzer.tta, "live_model": camera.name, "frames": args.frames,
               "repeats": args.repeats}
    results["classification"] = classification(camera, args.repeats)
    if camera.name != analyzer.predictor.name:
        results["classification_default_model"] = classification(analyzer.predictor, args.repeats)
    # The camera with each detector, detecting on every frame, every 2nd or every 3rd (tracking in between).
    results["live"] = {
        f"{method}, detect every {every}": {
            name: live_fps(camera, clip, args.repeats, LiveSettings(replace(LIVE_DETECTOR, method=method), every))
            for name, clip in clips.items()}
        for method in METHODS for every in (1, 2, 3)}
    results["video"] = {name: video_fps(analyzer.predictor, clip, args.repeats) for name, clip in clips.items()}
    results["analyze"] = {method: photo_latency(lambda image, m=method: analyze(image, DetectorConfig(method=m)),
                                                images, args.repeats) for method in METHODS}
    if not args.no_fer:
        from fer.fer import FER

        detector = FER(mtcnn=False)
        results["fer"] = {
            "live": {name: fer_fps(detector, clip, args.repeats) for name, clip in clips.items()},
            "analyze": photo_latency(detector.detect_emotions, images, args.repeats,
                                     lambda found: [tuple(f["box"]) for f in found]),
        }
        results["ratios"] = {setting: {name: runs[name]["fps"] / results["fer"]["live"][name]["fps"]
                                       for name in clips} for setting, runs in results["live"].items()}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nwritten {args.json}")
    return 0


def print_table(r: dict) -> None:
    m = r["machine"]
    print(f"{m['cpu']}, {m['cores']} cores, TensorFlow {m['tensorflow']}; model {r['model']} ({r.get('engine')}, "
          f"TTA on photos: {r.get('tta')}), camera model {r.get('live_model', r['model'])}; "
          f"medians of {r['repeats']} runs")
    for key, whose in (("classification", "camera model"), ("classification_default_model", "default model")):
        if key in r:
            c = r[key]
            print(f"classification ({whose}): batch 1 {c['batch1_ms']:.2f} ms/face; "
                  f"batch 32 {c['batch32_faces_per_s']:.0f} faces/s")
    fer = r.get("fer")
    nan = {"fps": float("nan"), "faces_per_frame": float("nan"), "true_faces_per_frame": float("nan")}
    print("\nfaces/frame: all boxes (true = on a pasted face)")
    print(f"{'camera, 640x480 clip':<34} {'ours fps':>9} {'faces/frame':>16} {'fer fps':>8} {'faces/frame':>16} "
          f"{'x':>6}")
    for setting, runs in r["live"].items():
        for name, ours in runs.items():
            theirs = fer["live"][name] if fer else nan
            ratio = ours["fps"] / theirs["fps"] if fer else float("nan")
            mine = f"{ours['faces_per_frame']:>6.2f} (true {ours['true_faces_per_frame']:.2f})"
            print(f"{setting + ', ' + name:<34} {ours['fps']:>9.1f} {mine} {theirs['fps']:>8.1f} "
                  f"{theirs['faces_per_frame']:>6.2f} (true {theirs['true_faces_per_frame']:.2f}) {ratio:>6.1f}")
    for name, v in r.get("video", {}).items():
        print(f"video file, {name}: {v['fps']:.1f} frames/s (decode, track, classify, draw, H.264 encode, CSV)")
    for method, photos in r["analyze"].items():
        print(f"\n{'photo, ' + method:<24} {'analyze ms':>10} {'faces':>6} {'true':>5} {'fer ms':>8} {'faces':>6} "
              f"{'true':>5} {'fer/ours':>8}   (true: hand-checked faces found; photos at their own size only)")
        for name, ours in photos.items():
            theirs = fer["analyze"][name] if fer else {"ms": float("nan"), "faces": -1}
            print(f"{name:<24} {ours['ms']:>10.1f} {ours['faces']:>6d} {ours.get('true_faces', ''):>5} "
                  f"{theirs['ms']:>8.1f} {theirs['faces']:>6d} {theirs.get('true_faces', ''):>5} "
                  f"{theirs['ms'] / ours['ms']:>8.1f}")


if __name__ == "__main__":
    sys.exit(main())
