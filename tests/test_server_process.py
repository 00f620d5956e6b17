"""`fer-core serve` as a real uvicorn process on 127.0.0.1, and on a local Ray Serve deployment, driven by httpx: the
shared photos, hostile files and 16 concurrent clients. Every server is stopped by its fixture, and every wait is
bounded in time."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from fer_core.inference.files import analyze_file
from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from helpers import REPO_ROOT

PHOTOS = ("photo_5.jpg", "photo_13.jpg", "photo_21.jpg", "photo_23.jpg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(*flags: str, ready_within: float, log: Path | None = None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    out = open(log, "w") if log else subprocess.DEVNULL  # the server process writes it until it exits
    process = subprocess.Popen([sys.executable, "-m", "fer_core", "serve", "--port", str(port), *flags],
                               cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {log.read_text()[-3000:] if log else ''}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    _stop(process)
    raise AssertionError(f"the server was not ready within {ready_within} s")


def _stop(process: subprocess.Popen) -> None:
    """SIGINT first (uvicorn and Ray Serve shut down cleanly on it), then the whole process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def photos(fer_data_dir) -> dict[str, bytes]:
    folder = fer_data_dir.parent / "photos"
    assert folder.is_dir(), f"no photos folder at {folder}"
    return {name: (folder / name).read_bytes() for name in PHOTOS}


@pytest.fixture(scope="module")
def expected(fer_data_dir) -> dict[str, list]:
    analyzer = Analyzer(Predictor.load())
    folder = fer_data_dir.parent / "photos"
    return {name: analyze_file(folder / name, analyzer).to_dict()["faces"] for name in PHOTOS}


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server") / "server.log"


@pytest.fixture(scope="module")
def server(server_log):
    process, url = _start("--max-upload-mb", "5", "--body-timeout", "2", "--slots", "2", "--queue", "32",
                          ready_within=120, log=server_log)
    yield url
    _stop(process)


def _faces(url: str, name: str, data: bytes) -> list:
    answer = httpx.post(f"{url}/v1/analyze", files={"file": (name, data, "image/jpeg")}, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer.json()["faces"]


def test_the_photos_get_the_librarys_answers(server, photos, expected):
    for name, data in photos.items():
        assert _faces(server, name, data) == expected[name], name
    assert sum(len(faces) for faces in expected.values()) >= 10


def test_sixteen_concurrent_clients_get_the_serial_answers(server, photos):
    serial = {name: _faces(server, name, data) for name, data in photos.items()}
    jobs = [name for _ in range(4) for name in photos]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda name: (name, _faces(server, name, photos[name])), jobs))
    assert len(answers) == 16
    for name, faces in answers:
        assert faces == serial[name], name


def _hostile_files() -> dict[str, tuple[bytes, int]]:
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, "PNG")
    return {"empty": (b"", 400), "text": (b"not an image at all", 415),
            "hdr": (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 40000 +X 40000\n" + b"\x00" * 64, 415),
            "bomb": (bomb.getvalue(), 413)}


def test_hostile_files_get_their_status_and_the_server_goes_on(server, photos):
    truncated = photos["photo_5.jpg"][: len(photos["photo_5.jpg"]) // 2]
    for name, (data, status) in (_hostile_files() | {"truncated": (truncated, 422)}).items():
        answer = httpx.post(f"{server}/v1/analyze", content=data, timeout=60)
        assert answer.status_code == status, name
        assert set(answer.json()["error"]) == {"code", "message"}, name
    assert _faces(server, "photo_13.jpg", photos["photo_13.jpg"])


def _raw_request(url: str, head: bytes, chunks, pause: float = 0.0) -> bytes:
    """Send a request by hand (headers, then body chunks) and return whatever the server answered."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(head)
        try:
            for chunk in chunks:
                connection.sendall(chunk)
                if pause:
                    time.sleep(pause)
        except OSError:  # the server answered and closed while we were still sending
            pass
        answer = b""
        try:
            while part := connection.recv(65536):
                answer += part
        except OSError:
            pass
    return answer


def test_an_oversized_upload_is_refused_while_it_streams(server):
    sent = []

    def megabytes():
        for _ in range(200):  # 200 MB on offer, against a 5 MB limit
            sent.append(1)
            yield b"%x\r\n%s\r\n" % (1024 * 1024, b"x" * 1024 * 1024)

    head = b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = _raw_request(server, head, megabytes())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert len(sent) < 100
    declared = _raw_request(server, b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", [])
    assert declared.startswith(b"HTTP/1.1 413")


def test_a_slow_client_gets_a_timeout(server, photos):
    head = b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    started = time.monotonic()
    answer = _raw_request(server, head, [b"x" * 10] * 3, pause=1.5)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 15
    assert _faces(server, "photo_13.jpg", photos["photo_13.jpg"])


def test_the_log_holds_routes_statuses_and_timings_only(server, server_log, photos):
    _faces(server, "secret_name_photo_13.jpg", photos["photo_13.jpg"])
    httpx.post(f"{server}/v1/analyze?tta=none", content=b"not an image", timeout=30)
    time.sleep(0.5)
    log = server_log.read_text()
    assert "POST /v1/analyze 200" in log and "POST /v1/analyze 415" in log
    assert "secret_name" not in log and "tta=none" not in log and "not an image" not in log


@pytest.fixture(scope="module")
def ray_server():
    process, url = _start("--engine", "ray", "--replicas", "1", ready_within=240)
    yield url
    _stop(process)


def test_ray_serve_answers_as_the_single_process_server_does(ray_server, photos, expected):
    for name, data in photos.items():
        assert _faces(ray_server, name, data) == expected[name], name
    for name, (data, status) in _hostile_files().items():
        assert httpx.post(f"{ray_server}/v1/analyze", content=data, timeout=60).status_code == status, name
    assert [m["role"] for m in httpx.get(f"{ray_server}/v1/models", timeout=30).json()] == ["default", "camera"]
    assert httpx.get(f"{ray_server}/docs", timeout=30).status_code == 200


def test_the_server_binds_this_machine_only_by_default_and_the_serve_config_names_the_deployment():
    import yaml

    from fer_core.cli import build_parser
    from fer_core.server import ray_serve

    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    config = yaml.safe_load((REPO_ROOT / "fer_core" / "server" / "serve_config.yaml").read_text())
    application = config["applications"][0]
    module, name = application["import_path"].split(":")
    assert module == ray_serve.__name__ and getattr(ray_serve, name) is ray_serve.app
    assert application["deployments"][0]["name"] == ray_serve.DEPLOYMENT_NAME
