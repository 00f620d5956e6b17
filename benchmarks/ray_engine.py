"""The Ray engine beside the in-process one: photos/s and video frames/s with 1 and 2 workers, and Ray's start-up.

    .venv/bin/python -m benchmarks.ray_engine [--copies 4] [--clips 4] [--frames 60]

Photos: the 7 shared photos, each `--copies` times under other names, through `analyze`'s work (detection, the
default model with its test-time augmentation, records). Videos: `--clips` 640x480 clips of 6 real faces. Each Ray
figure is the wall time of one call on a local Ray instance already started, actor start-up and model loading
included, since a batch job pays them once; Ray's own start-up (`ray.init`) is timed apart. Writes
benchmarks/results/ray_engine.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import av

from benchmarks.clips import face_clip, real_face_crops
from benchmarks.realtime import machine
from fer_core import Analyzer, DetectorConfig, Predictor
from fer_core.inference import ray_engine
from fer_core.inference.files import analyze_files
from fer_core.inference.video import VideoJob, run_video_job
from fer_core.runs.registry import default_model_path

PHOTOS = ("photo_5.jpg", "photo_11.jpg", "photo_13.jpg", "photo_21.jpg", "photo_23.jpg", "photo_24.jpg",
          "photo_26.jpg")


def write_clip(path: Path, frames) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode())


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"))
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--json", default="benchmarks/results/ray_engine.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ray_bench_"))
    paths = []
    for copy in range(args.copies):
        for name in PHOTOS:
            paths.append(work / f"{copy}_{name}")
            shutil.copy(Path(args.photos) / name, paths[-1])
    crops = real_face_crops(Path(args.photos))
    jobs = []
    for i in range(args.clips):
        frames, _ = face_clip(crops, 6, args.frames, seed=i)
        write_clip(work / f"clip_{i}.mp4", frames)
        jobs.append(VideoJob(str(work / f"clip_{i}.mp4"), None, str(work / f"clip_{i}.csv")))
    frames = args.clips * args.frames
    model = default_model_path()

    analyzer = Analyzer(Predictor.load(model), DetectorConfig())
    results = {"machine": machine(), "photos": len(paths), "video_frames": frames, "model": model.parent.name}
    results["local"] = {"photos_s": timed(lambda: analyze_files(paths, analyzer)),
                        "video_s": timed(lambda: [run_video_job(job, predictor=analyzer.predictor) for job in jobs])}
    results["ray_start_s"] = timed(lambda: ray_engine.connect(None))
    for workers in (1, 2):
        results[f"ray_{workers}"] = {
            "photos_s": timed(lambda w=workers: ray_engine.analyze_files_on_ray(paths, model, DetectorConfig(), None,
                                                                               workers=w)),
            "video_s": timed(lambda w=workers: ray_engine.process_videos_on_ray(jobs, model, workers=w))}
    for engine in ("local", "ray_1", "ray_2"):
        results[engine]["photos_per_s"] = len(paths) / results[engine]["photos_s"]
        results[engine]["video_frames_per_s"] = frames / results[engine]["video_s"]
    shutil.rmtree(work, ignore_errors=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"Ray start-up (ray.init, local instance): {results['ray_start_s']:.1f} s")
    print("| engine | photos/s | x local | video frames/s | x local |\n|---|---|---|---|---|")
    for engine, label in (("local", "in-process"), ("ray_1", "Ray, 1 worker"), ("ray_2", "Ray, 2 workers")):
        r = results[engine]
        print(f"| {label} | {r['photos_per_s']:.2f} | {r['photos_per_s'] / results['local']['photos_per_s']:.2f} "
              f"| {r['video_frames_per_s']:.1f} | "
              f"{r['video_frames_per_s'] / results['local']['video_frames_per_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
