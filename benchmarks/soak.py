"""Soak: push many frames through the camera callback path and record the process's memory (RSS).

    .venv/bin/python -m benchmarks.soak [--frames 20000] [--every 1000] [--json benchmarks/results/soak.json]

Each frame goes through the same callback the camera page installs (av.VideoFrame -> CameraSession.annotate ->
queue -> av.VideoFrame), and the queue is drained into the session's timeline as the page does. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from app.camera import CameraSession  # noqa: I001  (first: pylibsrtp before TensorFlow, as in the app)
import av
import numpy as np

from benchmarks.clips import face_clip, real_face_crops
from fer_core import Predictor
from fer_core.runs.registry import camera_model_path


def rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"))
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--json", default="benchmarks/results/soak.json")
    args = parser.parse_args()

    frames, _ = face_clip(real_face_crops(Path(args.photos)), 6, 300, seed=1)
    camera = CameraSession(Predictor.load(camera_model_path()))  # the camera's model, as the page loads it
    callback = camera.video_callback()
    samples, window = [], []
    start = time.perf_counter()
    for i in range(args.frames):
        out = callback(av.VideoFrame.from_ndarray(frames[i % len(frames)], format="bgr24"))
        out.to_ndarray(format="bgr24")
        camera.drain()
        window.append(rss_mib())
        if (i + 1) % args.every == 0:
            samples.append({"frames": i + 1, "rss_mib": float(np.mean(window)), "max_rss_mib": max(window),
                            "seconds": round(time.perf_counter() - start, 1)})
            window = []
            print(f"{i + 1:>7} frames  RSS {samples[-1]['rss_mib']:.1f} MiB  {samples[-1]['seconds']:.0f} s",
                  flush=True)
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras"))
    report = {"frames": args.frames, "every": args.every, "samples": samples, "tensorflow_loaded": bool(loaded),
              "first_window_mib": samples[0]["rss_mib"], "last_window_mib": samples[-1]["rss_mib"]}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"first {args.every} frames: {report['first_window_mib']:.1f} MiB; last {args.every}: "
          f"{report['last_window_mib']:.1f} MiB; written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
