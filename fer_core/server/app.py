"""The FastAPI app: POST /v1/analyze and /v1/analyze/batch, GET /v1/models, /healthz, /readyz and /docs.

Both launchers (uvicorn in one process, Ray Serve across a cluster; fer_core.server.launch) serve this one app.
The models load at start-up (the lifespan), or on the first request where a host runs no lifespan; /readyz says
which. Uploads stay in memory, and the log holds only methods, routes, statuses, sizes and timings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import fastapi_offline
from anyio import to_thread
from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from fer_core.inference.imageio import ImageDecodeError
from fer_core.inference.pipeline import Analyzer
from fer_core.server.body import Upload, read_limited, uploads_from_body
from fer_core.server.config import ServerConfig
from fer_core.server.errors import ApiError, from_image_error
from fer_core.server.service import AnalysisService, Gate, detector_for

log = logging.getLogger("fer_core.server")
# Swagger UI's files, from the fastapi-offline package, so that /docs needs no CDN.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"

_IMAGE_BODY = {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                           "multipart/form-data": {"schema": {"type": "object", "properties": {
                               "file": {"type": "string", "format": "binary"}}}}},
               "description": "an image (JPEG, PNG, WebP, BMP, TIFF or GIF) as the raw body, or as a multipart file"}
_BATCH_BODY = {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}},
    "description": "several images, each a file part of a multipart form"}


class _State:
    """The service, built once per process; a lock keeps two first requests from loading the models twice."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.service: AnalysisService | None = None
        self.gate = Gate(config.analysis_slots, config.queue_limit)
        self._loading = asyncio.Lock()

    async def ready_service(self) -> AnalysisService:
        async with self._loading:
            if self.service is None:
                self.service = await to_thread.run_sync(AnalysisService, self.config)
        return self.service


def create_app(config: ServerConfig | None = None) -> FastAPI:
    state = _State(config or ServerConfig())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.ready_service()
        yield

    app = FastAPI(title="fer_core", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Faces and their emotions in images: the same analysis as `fer-core analyze --json`.")
    app.state.fer = state
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    _add_error_handlers(app)
    _add_access_log(app)
    _add_service_routes(app, state)
    _add_analysis_routes(app, state)
    return app


def _add_service_routes(app: FastAPI, state: _State) -> None:
    """The docs page, health checks and the model list."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="fer_core API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon.png")

    @app.get("/healthz", summary="the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="the models are loaded and requests are served",
             responses={503: {"description": "still loading"}})
    async def readyz() -> JSONResponse:
        if state.service is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready", "in_flight_limit": state.gate.slots, "waiting": state.gate.waiting})

    @app.get("/v1/models", summary="the served models with their scorecards")
    async def models() -> list[dict[str, Any]]:
        return (await state.ready_service()).models()


def _add_analysis_routes(app: FastAPI, state: _State) -> None:
    async def prepare(request: Request, options: AnalyzeOptions) -> tuple[AnalysisService, list[Upload], Analyzer]:
        uploads = await _uploads(request, state.config)
        service = await state.ready_service()
        detector = detector_for(options.detector, options.threshold, options.align)
        return service, uploads, service.analyzer(options.model, detector, options.tta)

    @app.post("/v1/analyze", summary="faces, boxes, landmarks and every emotion's probability in one image",
              openapi_extra={"requestBody": _IMAGE_BODY}, responses=_ERRORS)
    async def analyze(request: Request, options: Annotated[AnalyzeOptions, Query()]) -> dict[str, Any]:
        service, uploads, analyzer = await prepare(request, options)
        if len(uploads) != 1:
            raise ApiError(400, "bad_request", "send one image (use /v1/analyze/batch for several)")
        async with state.gate.slot():
            try:
                return await to_thread.run_sync(service.analyze, uploads[0].name, uploads[0].data, analyzer)
            except ImageDecodeError as exc:
                raise from_image_error(exc) from None

    @app.post("/v1/analyze/batch", summary="several images in one request: one record per image, in order",
              openapi_extra={"requestBody": _BATCH_BODY}, responses=_ERRORS)
    async def analyze_batch(request: Request,
                            options: Annotated[AnalyzeOptions, Query()]) -> list[dict[str, Any]]:
        service, uploads, analyzer = await prepare(request, options)
        if len(uploads) > state.config.max_batch:
            raise ApiError(413, "too_many_images", f"{len(uploads)} images; at most {state.config.max_batch} a batch")
        async with state.gate.slot():
            return await to_thread.run_sync(_batch_records, service, uploads, analyzer)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error's body."""

    error: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in {
        400: "empty body, or a malformed form", 408: "the body came too slowly",
        413: "the body, the image's declared size or the batch is over its limit",
        415: "not an image (JPEG, PNG, WebP, BMP, TIFF or GIF)", 422: "a damaged image, or an invalid parameter",
        503: "at capacity: retry after the Retry-After header's seconds"}.items()}


class AnalyzeOptions(BaseModel):
    """The query parameters of both analyze routes."""

    model_config = {"extra": "forbid"}
    model: Literal["default", "camera"] = Field("default", description="the shipped model to run")
    detector: Literal["yunet", "haar"] | None = Field(None, description="face detector (default: yunet)")
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="YuNet: the lowest face score kept")
    tta: Literal["none", "mirror", "multi"] | None = Field(None, description="test-time augmentation (default: "
                                                                            "the model's own mode)")
    align: bool = Field(True, description="align faces to FER2013's pose from YuNet's landmarks")


def _batch_records(service: AnalysisService, uploads: list[Upload], analyzer: Analyzer) -> list[dict[str, Any]]:
    """One record per upload; a bad image gets its error (message and code) and the others are still analysed."""
    records = []
    for upload in uploads:
        try:
            records.append(service.analyze(upload.name, upload.data, analyzer))
        except ImageDecodeError as exc:
            error = from_image_error(exc)
            records.append({"image": upload.name, "faces": [], "error": error.message, "error_code": error.code})
    return records


async def _uploads(request: Request, config: ServerConfig) -> list[Upload]:
    body = await read_limited(request.stream(), request.headers.get("content-length"), config.max_upload_bytes,
                              config.body_seconds, config.idle_body_seconds)
    uploads = uploads_from_body(body, request.headers.get("content-type"))
    if not uploads:
        raise ApiError(400, "empty_body", "the request holds no image")
    return uploads


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
                           for error in exc.errors())
        return _response(ApiError(422, "invalid_parameter", f"invalid or unknown parameter: {fields}"))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s while serving a request", type(exc).__name__)  # never the request's contents
        return _response(ApiError(500, "internal_error", "the server failed on this request"))


def _response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _add_access_log(app: FastAPI) -> None:
    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        log.info("%s %s %d %.1f ms", request.method, getattr(route, "path", "-"), response.status_code,
                 1000 * (time.perf_counter() - started))
        return response
