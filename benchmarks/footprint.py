"""Footprint: how fast the command line answers for one photo, and how much memory the app server holds.

    python -m benchmarks.footprint [--repeats 5] [--camera-frames 1000] [--peer-python .venv-bench/bin/python]
                                   [--json benchmarks/results/footprint.json]

1. Command line: the wall time of `python -m fer_core analyze PHOTO`, a fresh process each time (start-up, model
   load, detection, classification with the default model's test-time augmentation), median of --repeats, for each
   photo. With --peer-python (bash benchmarks/setup.sh makes .venv-bench), the `fer` package does the same job in a
   fresh process: import, FER(), detect_emotions(image).
2. The app: a real `streamlit run` server driven by headless Chromium (/usr/bin/chromium). Its resident memory
   (VmRSS) is read after the home page and the camera page (both models loaded) and one photo analysed on the photo
   page; then again after --camera-frames frames from a fake camera on the camera page. Also recorded: whether
   TensorFlow's library is mapped into the server.

Not a test: nothing here asserts a time or a size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from benchmarks.realtime import machine
from fer_core.runs.registry import camera_model_path, default_model_path

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO.parent / "shared" / "data" / "photos"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]


def shipped_model_names() -> dict[str, str]:
    """Which models the measured command and app ran: the folders the registry resolves."""
    return {"default": default_model_path().parent.name, "camera": camera_model_path().parent.name}


PEER_CODE = ("import sys, cv2; from fer.fer import FER; "
             "print(len(FER(mtcnn=False).detect_emotions(cv2.imread(sys.argv[1]))))")


def wall_seconds(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-2000:]}")
    return seconds


def cli_times(photos: list[Path], repeats: int, peer_python: str | None) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "FER_"))}
    rows = []
    for photo in photos:
        ours = [wall_seconds([sys.executable, "-m", "fer_core", "analyze", str(photo)], env) for _ in range(repeats)]
        row = {"photo": photo.name, "size": list(cv2.imread(str(photo)).shape[1::-1]),
               "seconds": statistics.median(ours), "runs": ours}
        if peer_python:
            peer = [wall_seconds([peer_python, "-c", PEER_CODE, str(photo)], env | {"TF_CPP_MIN_LOG_LEVEL": "3"})
                    for _ in range(repeats)]
            row |= {"fer_seconds": statistics.median(peer), "fer_runs": peer}
        rows.append(row)
        print(f"{photo.name}: {row['seconds']:.2f} s" + (f" (fer {row['fer_seconds']:.2f} s)" if peer_python else ""),
              flush=True)
    return rows


def process_memory(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    kib = {key: int(re.search(rf"^{key}:\s+(\d+)", status, re.M).group(1)) for key in ("VmRSS", "VmHWM")}
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {"rss_mib": round(kib["VmRSS"] / 1024, 1), "peak_rss_mib": round(kib["VmHWM"] / 1024, 1),
            "tensorflow_loaded": "libtensorflow" in maps or "_pywrap_tensorflow" in maps}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FER_")}
    with open(log, "w") as out:
        # The README's command; it execs the server, so this process id is the server's.
        server = subprocess.Popen(["bash", "scripts/app.sh", "--server.port", str(port), "--server.address",
                                   "127.0.0.1", "--server.headless", "true"],
                                  cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return server, url
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"streamlit did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def camera_clip(photo: Path, path: Path, n_frames: int = 150) -> None:
    """A 640x480 YUV4MPEG2 clip of a group photo drifting like a hand-held camera (Chromium's fake camera)."""
    image = cv2.imread(str(photo))
    image = cv2.resize(image, (680, round(image.shape[0] * 680 / image.shape[1])))
    canvas = np.full((max(520, image.shape[0]), 680, 3), 90, np.uint8)
    canvas[: image.shape[0]] = image
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        for i in range(n_frames):
            dy, dx = 10 + int(8 * np.sin(i / 15)), 20 + int(10 * np.sin(i / 20))
            frame = np.ascontiguousarray(canvas[dy:dy + 480, dx:dx + 640])
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())


def app_memory(photo: Path, camera_photo: Path, camera_frames: int, workdir: Path) -> dict:
    from playwright.sync_api import sync_playwright

    server, url = start_server(workdir / "streamlit.log")
    report: dict = {"idle": process_memory(server.pid)}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_text("Model details").wait_for(timeout=180_000)
            page.goto(f"{url}/Live_camera")
            page.frame_locator("iframe").first.get_by_role("button", name="START").wait_for(timeout=180_000)
            page.goto(f"{url}/Analyse_photos")
            page.locator("input[type=file]").set_input_files(str(photo), timeout=120_000)
            page.get_by_text(re.compile(r"\d+ face\(s\) found")).wait_for(timeout=180_000)
            page.wait_for_timeout(2000)
            report["models_loaded_one_photo"] = process_memory(server.pid) | {"photo": photo.name}
            print(f"after both models and one photo: {report['models_loaded_one_photo']}", flush=True)
            browser.close()

            clip = workdir / "camera.y4m"
            camera_clip(camera_photo, clip)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS + [
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={clip}"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/Live_camera")
            page.frame_locator("iframe").first.get_by_role("button", name="START").click(timeout=180_000)
            status = page.get_by_text(re.compile(r"frames processed: \d+"))
            processed, start, samples = 0, time.perf_counter(), []
            while processed < camera_frames and time.perf_counter() - start < 900:
                page.wait_for_timeout(2000)
                if status.count():
                    processed = int(re.search(r"frames processed: (\d+)", status.first.inner_text()).group(1))
                    samples.append((processed, process_memory(server.pid)["rss_mib"]))
            report["camera"] = process_memory(server.pid) | {
                "frames": processed, "seconds": round(time.perf_counter() - start, 1), "samples": samples}
            print(f"after {processed} camera frames: {report['camera']}", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", default=str(PHOTOS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--camera-frames", type=int, default=1000)
    parser.add_argument("--peer-python", help="a Python with the `fer` package (.venv-bench/bin/python)")
    parser.add_argument("--parts", default="cli,app", help="cli, app or both (default: %(default)s)")
    parser.add_argument("--json", default="benchmarks/results/footprint.json")
    args = parser.parse_args()

    photos = sorted(Path(args.photos).glob("*.jpg"))
    parts = set(args.parts.split(","))
    report: dict = {"machine": machine(), "models": shipped_model_names()}
    if "cli" in parts:
        report["cli"] = cli_times(photos, args.repeats, args.peer_python)
        report["cli_median_seconds"] = statistics.median(row["seconds"] for row in report["cli"])
        print(f"median over photos: {report['cli_median_seconds']:.2f} s")
    if "cli" in parts and args.peer_python:
        report["fer_cli_median_seconds"] = statistics.median(row["fer_seconds"] for row in report["cli"])
    if "app" in parts:
        workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"fer_footprint_{os.getpid()}"
        workdir.mkdir(parents=True, exist_ok=True)
        report["app"] = app_memory(Path(args.photos) / "photo_21.jpg", Path(args.photos) / "photo_13.jpg",
                                   args.camera_frames, workdir)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
