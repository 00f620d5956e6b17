"""The HTTP API's throughput and latency against calling the library in-process, and the server's memory.

    .venv/bin/python -m benchmarks.server [--photo photo_21.jpg] [--requests 64] [--soak 1000]

Starts `fer-core serve` (uvicorn, one worker, its default 2 analysis slots) on 127.0.0.1 and posts one group photo
from ../shared/data/photos (default: photo_21.jpg, 5 faces) as a raw body at concurrency 1, 4 and 16 with httpx,
`--requests` requests per level after 4 warm-up requests. The in-process figures run the same work, decoding the
photo's bytes and `Analyzer.analyze` with the default model and its TTA, from 1 and 2 threads. Then `--soak`
requests at concurrency 4 and the server's resident memory before and after. Loopback only; writes
benchmarks/results/server.json. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks.realtime import machine
from fer_core.inference.imageio import decode_image
from fer_core.inference.pipeline import Analyzer

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO.parent / "shared" / "data" / "photos"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "fer_core", "serve", "--port", str(port), "--queue", "64"],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("the server did not start")


def load(call, requests: int, concurrency: int) -> dict:
    """requests calls of `call` from `concurrency` threads: rate and latency percentiles."""
    latencies: list[float] = []

    def one(_: int) -> None:
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"concurrency": concurrency, "requests": requests, "per_second": round(requests / wall, 2),
            "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="photo_21.jpg")
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--soak", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "server.json"))
    args = parser.parse_args()
    data = (PHOTOS / args.photo).read_bytes()

    analyzer = Analyzer()
    faces = len(analyzer.analyze(decode_image(data)))
    in_process = [load(lambda: analyzer.analyze(decode_image(data)), args.requests, threads) for threads in (1, 2)]

    server = start_server(args.port)
    url = f"http://127.0.0.1:{args.port}/v1/analyze"
    try:
        with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=32)) as client:
            def post() -> None:
                answer = client.post(url, content=data)
                if answer.status_code != 200 or len(answer.json()["faces"]) != faces:
                    raise RuntimeError(f"unexpected answer {answer.status_code}")

            for _ in range(4):
                post()
            rss_before = rss_mb(server.pid)
            over_http = [load(post, args.requests, c) for c in (1, 4, 16)]
            soak = load(post, args.soak, 4)
            rss_after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    result = {"machine": machine(), "photo": args.photo, "faces": faces, "bytes": len(data),
              "model": analyzer.predictor.name, "tta": analyzer.tta, "in_process": in_process, "http": over_http,
              "soak": soak | {"rss_mb_before": round(rss_before, 1), "rss_mb_after": round(rss_after, 1)}}
    Path(args.json).write_text(json.dumps(result, indent=2))
    print(f"{args.photo}: {faces} faces, {analyzer.predictor.name} ({analyzer.tta})")
    for row in in_process:
        print(f"in-process, {row['concurrency']} thread(s): {row['per_second']} photos/s, p50 {row['p50_ms']} ms, "
              f"p95 {row['p95_ms']} ms")
    for row in over_http:
        print(f"HTTP, concurrency {row['concurrency']}: {row['per_second']} requests/s, p50 {row['p50_ms']} ms, "
              f"p95 {row['p95_ms']} ms")
    print(f"server RSS {rss_before:.0f} MB after warm-up, {rss_after:.0f} MB after {args.soak} more requests")


if __name__ == "__main__":
    main()
