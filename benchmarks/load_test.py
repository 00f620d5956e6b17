"""The app under a crowd, on loopback: camera streams, photo and video uploads and a hostile user at once.

    .venv/bin/python -m benchmarks.load_test [--cameras 8] [--photo-users 8] [--video-users 4] [--seconds 60]

Starts the app as scripts/app.sh does (MALLOC_ARENA_MAX=2) on 127.0.0.1 and drives headless Chromium pages at it,
all at once: `--cameras` camera pages with a fake camera (a 640x480 clip of a group photo, drifting) that press
START and stream for `--seconds`; `--photo-users` pages that each upload 10 group photos from
../shared/data/photos and wait for every photo's result; `--video-users` pages that each upload a 4 s clip of two
faces and wait for its analysis; one page that uploads the hostile corpus to the photo page and a 1-pixel-wide MKV
to the video page. Samples the server's resident memory every 0.5 s. Every wait is bounded. Prints and writes
benchmarks/results/load_test.json: per kind of user, how many were answered; the server's peak and final RSS, and
whether the peak stayed under `--ceiling-mb`.
Not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO.parent / "shared" / "data" / "photos"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]
PAGE_TIMEOUT_MS = 180_000
# The server's resident memory under the default load stays below this; docs/reliability.md records the measurements.
RSS_CEILING_MB = 2048.0
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "browser")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """The server process and its children (none expected), in MB."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    return total / 1024


def start_app(port: int) -> subprocess.Popen:
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2", "MALLOC_ARENA_MAX": "2"}
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
                            "--server.address", "127.0.0.1", "--server.headless", "true"], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return app
        except OSError:
            time.sleep(0.5)
    app.kill()
    raise RuntimeError("the app did not start")


def make_inputs(folder: Path) -> dict[str, Path]:
    from test_pages_in_browser import _camera_clip
    from test_video import _one_pixel_wide_mkv, _photo_faces, write_clip

    from helpers import hostile_images

    clip = folder / "camera.y4m"
    _camera_clip(PHOTOS / "photo_13.jpg", clip, n_frames=90)
    faces = _photo_faces(PHOTOS, 2)
    frames = []
    for i in range(100):
        frame = np.full((360, 480, 3), 110, np.uint8)
        frame[100:250, 40 + i // 2:190 + i // 2] = faces[0]
        frame[100:250, 280:430] = faces[1]
        frames.append(frame)
    write_clip(folder / "two_faces.mp4", frames)
    _one_pixel_wide_mkv(folder / "thin.mkv")
    hostile = folder / "hostile"
    hostile.mkdir()
    for name, (data, _) in hostile_images().items():
        (hostile / name).write_bytes(data)
    cv2.imwrite(str(hostile / "good.png"), np.full((120, 160, 3), 90, np.uint8))
    return {"camera": clip, "video": folder / "two_faces.mp4", "thin": folder / "thin.mkv", "hostile": hostile}


async def new_page(browser):
    """A page whose every wait allows for 20 pages and the server sharing the machine's cores."""
    page = await browser.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    return page


async def camera_user(browser_context, url: str, seconds: float) -> int | str:
    """Frames the page reports processed after streaming for `seconds`, or the message that refused the stream."""
    from playwright.async_api import TimeoutError as PageTimeout

    page = await new_page(browser_context)
    await page.goto(f"{url}/Live_camera")
    await page.frame_locator("iframe").first.get_by_role("button", name="START").click()
    status = page.get_by_text(re.compile(r"frames processed: \d+"))
    await asyncio.sleep(seconds)
    try:
        await status.first.wait_for(timeout=60_000)
    except PageTimeout:
        refused = page.get_by_text(re.compile(r"camera streams, as many as it takes"))
        return await refused.first.inner_text() if await refused.count() else "no frame processed"
    return int(re.search(r"frames processed: (\d+)", await status.first.inner_text()).group(1))


async def photo_user(browser, url: str, photos: list[Path]) -> int:
    """Photos whose result (a header and an image) appeared."""
    page = await new_page(browser)
    await page.goto(f"{url}/Analyse_photos")
    await page.locator("input[type=file]").set_input_files([str(p) for p in photos])
    await page.get_by_text(re.compile(r"\d+ face\(s\) found")).nth(len(photos) - 1).wait_for(timeout=300_000)
    return await page.get_by_text(re.compile(r"\d+ face\(s\) found")).count()


async def video_user(browser, url: str, clip: Path) -> bool:
    page = await new_page(browser)
    await page.goto(f"{url}/Video")
    await page.locator("input[type=file]").set_input_files(str(clip))
    await page.get_by_role("button", name="Analyse", exact=True).click()
    await page.get_by_text(re.compile(r"\d+ frames at .* fps")).wait_for(timeout=300_000)
    return True


async def hostile_user(browser, url: str, inputs: dict[str, Path]) -> dict[str, int]:
    page = await new_page(browser)
    await page.goto(f"{url}/Analyse_photos")
    files = sorted(inputs["hostile"].iterdir())
    await page.locator("input[type=file]").set_input_files([str(f) for f in files])
    await page.get_by_text(re.compile(r"No faces found")).first.wait_for(timeout=300_000)
    errors = await page.locator('[data-testid="stAlertContentError"]').count()
    video = await new_page(browser)
    await video.goto(f"{url}/Video")
    await video.locator("input[type=file]").set_input_files(str(inputs["thin"]))
    await video.get_by_role("button", name="Analyse", exact=True).click()
    await video.get_by_text("frames need at least").wait_for()
    return {"photo_errors": errors, "files": len(files), "video_refused": 1}


async def run(args, url: str, inputs: dict[str, Path], pid: int) -> dict:
    from playwright.async_api import async_playwright

    samples: list[float] = []
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            samples.append(rss_mb(pid))
            await asyncio.sleep(0.5)

    photos = sorted(PHOTOS.glob("*.jpg"))
    async with async_playwright() as playwright:
        camera_browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS + ["--use-fake-ui-for-media-stream",
                                                    "--use-fake-device-for-media-stream",
                                                    f"--use-file-for-fake-video-capture={inputs['camera']}"])
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        warm = await browser.new_page()
        await warm.goto(url)
        await warm.get_by_text("Facial emotion recognition").first.wait_for(timeout=180_000)
        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        tasks = ([camera_user(await camera_browser.new_context(), url, args.seconds) for _ in range(args.cameras)]
                 + [photo_user(browser, url, [photos[(u + k) % len(photos)] for k in range(10)])
                    for u in range(args.photo_users)]
                 + [video_user(browser, url, inputs["video"]) for _ in range(args.video_users)]
                 + [hostile_user(browser, url, inputs)])
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=args.timeout)
        elapsed = time.monotonic() - started
        stop.set()
        await sampler
        await browser.close()
        await camera_browser.close()
    cameras = results[:args.cameras]
    photo_results = results[args.cameras:args.cameras + args.photo_users]
    video_results = results[args.cameras + args.photo_users:-1]
    return {"seconds": round(elapsed, 1),
            "camera_frames_processed": [r if isinstance(r, int) else repr(r)[:120] for r in cameras],
            "photo_users_answered": sum(r == 10 for r in photo_results),
            "photo_results": [r if isinstance(r, int) else repr(r)[:120] for r in photo_results],
            "video_users_answered": sum(r is True for r in video_results),
            "video_results": [r if r is True else repr(r)[:120] for r in video_results],
            "hostile": results[-1] if isinstance(results[-1], dict) else repr(results[-1])[:200],
            "rss_mb_peak": round(max(samples), 1), "rss_mb_end": round(samples[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--photo-users", type=int, default=8)
    parser.add_argument("--video-users", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each camera streams")
    parser.add_argument("--timeout", type=float, default=900.0, help="the most the whole load may take")
    parser.add_argument("--ceiling-mb", type=float, default=RSS_CEILING_MB,
                        help="the server's stated memory ceiling for this load (docs/reliability.md)")
    parser.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "load_test.json"))
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        inputs = make_inputs(Path(folder))
        app = start_app(port)
        try:
            rss_idle = rss_mb(app.pid)
            result = asyncio.run(run(args, f"http://127.0.0.1:{port}", inputs, app.pid))
            result["rss_mb_after_start"] = round(rss_idle, 1)
            result["server_alive"] = app.poll() is None
            result["rss_ceiling_mb"] = args.ceiling_mb
            result["rss_under_ceiling"] = result["rss_mb_peak"] < args.ceiling_mb
        finally:
            app.terminate()
            app.wait(timeout=30)
    result = {"users": {"cameras": args.cameras, "photo_users": args.photo_users, "video_users": args.video_users,
                        "hostile_users": 1, "camera_seconds": args.seconds}} | result
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
