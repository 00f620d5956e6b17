"""The HTTP API in-process, through the ASGI test client: answers equal the library's, and every kind of bad input
gets its own status and typed JSON error while the server goes on serving."""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from fer_core.inference.files import ImageRecord
from fer_core.inference.pipeline import Analyzer
from fer_core.inference.predictor import Predictor
from fer_core.runs.registry import DEFAULT_MODEL
from fer_core.server.app import create_app
from fer_core.server.body import read_limited, uploads_from_body
from fer_core.server.config import ServerConfig
from fer_core.server.errors import ApiError
from fer_core.server.service import Gate


def run_async(coroutine):
    """asyncio.run on a thread of its own: a session-wide fixture (Playwright's) may hold this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def _picture(seed: int = 0) -> np.ndarray:
    """A 240x320 picture with a bright disc on noise: no face is promised, the same answer is."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    cv2.circle(image, (160, 120), 70, (200, 190, 180), -1)
    return image


def _bomb_png(side: int = 20000) -> bytes:
    """A tiny PNG that declares side x side pixels."""
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(ServerConfig(max_upload_bytes=2 * 1024 * 1024, max_batch=3))) as test_client:
        yield test_client


def test_an_image_gets_the_same_record_as_the_analyze_command(client):
    image = _picture()
    expected = ImageRecord("upload", Analyzer(Predictor.load()).analyze(image)).to_dict()
    raw = client.post("/v1/analyze", content=_png(image), headers={"content-type": "image/png"})
    form = client.post("/v1/analyze", files={"file": ("../../etc/picture.png", _png(image), "image/png")})
    assert raw.status_code == form.status_code == 200
    assert {k: raw.json()[k] for k in expected} == expected
    assert form.json()["image"] == "picture.png"  # the client's name, never a path
    assert form.json()["faces"] == expected["faces"]
    assert raw.json()["model"] == DEFAULT_MODEL and (raw.json()["width"], raw.json()["height"]) == (320, 240)


def test_query_parameters_choose_the_model_detector_and_tta(client):
    image = _picture(1)
    answer = client.post("/v1/analyze?model=camera&detector=haar&tta=multi&align=false", content=_png(image))
    assert answer.status_code == 200
    assert answer.json()["model"] == "fer-camera-1.2" and answer.json()["tta"] == "multi"
    for query in ("model=mine", "detector=mtcnn", "threshold=2", "tta=all", "path=/etc/passwd"):
        refused = client.post(f"/v1/analyze?{query}", content=_png(image))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_parameter", query


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"", 400, "empty_body"),
    (b"just some text, not an image", 415, "unsupported_media_type"),
    (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 40000 +X 40000\n", 415, "unsupported_media_type"),
    ("truncated", 422, "corrupt_image"),
    ("bomb", 413, "image_too_large"),
    ("oversized", 413, "payload_too_large"),
])
def test_bad_input_gets_its_status_and_the_server_goes_on(client, body, status, code):
    body = {"truncated": cv2.imencode(".jpg", _picture())[1].tobytes()[:3000], "bomb": _bomb_png(),
            "oversized": os.urandom(3 * 1024 * 1024)}.get(body, body)
    answer = client.post("/v1/analyze", content=body, headers={"content-type": "application/octet-stream"})
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code and answer.json()["error"]["message"]
    assert "/" not in answer.json()["error"]["message"].replace("/v1/analyze", "")  # no server path
    assert client.post("/v1/analyze", content=_png(_picture())).status_code == 200


def test_a_batch_answers_each_image_in_order_and_a_bad_one_spoils_nothing(client):
    images = [_picture(2), _picture(3)]
    files = [("files", ("a.png", _png(images[0]), "image/png")), ("files", ("notes.txt", b"hello", "text/plain")),
             ("files", ("b.png", _png(images[1]), "image/png"))]
    answer = client.post("/v1/analyze/batch?tta=none", files=files)
    assert answer.status_code == 200
    records = answer.json()
    assert [r["image"] for r in records] == ["a.png", "notes.txt", "b.png"]
    assert records[1]["error_code"] == "unsupported_media_type" and records[1]["faces"] == []
    analyzer = Analyzer(Predictor.load(), tta="none")
    assert records[2]["faces"] == ImageRecord("b.png", analyzer.analyze(images[1])).to_dict()["faces"]
    too_many = client.post("/v1/analyze/batch", files=files + files[:1])
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "too_many_images"


def test_models_health_and_docs(client):
    models = client.get("/v1/models").json()
    assert [m["role"] for m in models] == ["default", "camera"]
    assert models[0]["scorecard"]["raw"]["accuracy"] > 0.6
    assert "source" not in str(models) and "/" not in str([m["scorecard"] for m in models])
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    docs = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower() and "https://" not in docs
    assert "ErrorBody" in str(client.get("/openapi.json").json()["paths"]["/v1/analyze"]["post"]["responses"]["415"])
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert "/v1/analyze/batch" in client.get("/openapi.json").json()["paths"]


def test_multipart_uploads_never_touch_the_disk(client):
    before = set(os.listdir(tempfile.gettempdir()))
    big = _png(np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8))  # > 1 MB
    assert len(big) > 1024 * 1024
    assert client.post("/v1/analyze", files={"file": ("big.png", big, "image/png")}).status_code == 200
    assert set(os.listdir(tempfile.gettempdir())) - before == set()


async def _chunks(count: int, size: int, consumed: list[int], pause: float = 0.0):
    for _ in range(count):
        consumed.append(size)
        if pause:
            await asyncio.sleep(pause)
        yield b"x" * size


def test_an_oversized_body_is_refused_while_it_streams():
    consumed: list[int] = []
    with pytest.raises(ApiError) as refused:
        run_async(read_limited(_chunks(1000, 64 * 1024, consumed), None, 1024 * 1024, 30, 10))
    assert refused.value.status == 413
    assert sum(consumed) <= 1024 * 1024 + 64 * 1024  # stopped at the limit, not after the 64 MB on offer
    consumed.clear()
    with pytest.raises(ApiError) as declared:
        run_async(read_limited(_chunks(1000, 64 * 1024, consumed), str(64 * 1024 * 1024), 1024 * 1024, 30, 10))
    assert declared.value.status == 413 and consumed == []  # a declared length over the limit: nothing read


def test_a_slow_client_times_out():
    consumed: list[int] = []
    with pytest.raises(ApiError) as paused:
        run_async(read_limited(_chunks(10, 10, consumed, pause=0.5), None, 1024, 30, 0.2))
    assert paused.value.status == 408 and len(consumed) == 1
    with pytest.raises(ApiError) as dragged:
        run_async(read_limited(_chunks(100, 10, consumed, pause=0.05), None, 10_000, 0.3, 0.2))
    assert dragged.value.status == 408


def test_a_malformed_form_is_a_bad_request():
    with pytest.raises(ApiError) as bad:
        uploads_from_body(b"--xyz\r\nno end", "multipart/form-data; boundary=xyz")
    assert bad.value.status == 400
    with pytest.raises(ApiError):
        uploads_from_body(b"", "multipart/form-data")


def test_the_gate_queues_a_burst_and_refuses_beyond_its_queue():
    async def burst() -> list[int]:
        gate = Gate(slots=1, queue_limit=2)
        release = asyncio.Event()

        async def request() -> int:
            try:
                async with gate.slot():
                    await release.wait()
                return 200
            except ApiError as exc:
                assert exc.headers["Retry-After"] == "1"
                return exc.status

        tasks = [asyncio.create_task(request()) for _ in range(5)]
        await asyncio.sleep(0.05)
        assert gate.waiting == 2
        release.set()
        return await asyncio.gather(*tasks)

    assert sorted(run_async(burst())) == [200, 200, 200, 503, 503]
