"""`fer-core serve`: the API on uvicorn in this machine's processes, or on a Ray Serve cluster."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from fastapi import FastAPI

from fer_core.server.app import create_app
from fer_core.server.config import ServerConfig

# uvicorn's worker processes build their app from this variable (a JSON ServerConfig), since they import it.
CONFIG_VARIABLE = "FER_SERVER_CONFIG"


def app_from_environment() -> FastAPI:
    """The app factory each uvicorn worker calls."""
    values = json.loads(os.environ.get(CONFIG_VARIABLE, "{}"))
    for key in ("default_model", "camera_model"):
        if values.get(key):
            values[key] = Path(values[key])
    return create_app(ServerConfig(**values))


def serve_uvicorn(config: ServerConfig, host: str, port: int, workers: int) -> None:
    import uvicorn

    os.environ[CONFIG_VARIABLE] = json.dumps({k: (str(v) if isinstance(v, Path) else v)
                                              for k, v in asdict(config).items()})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # No access log of uvicorn's own (it names clients and query strings): the app logs routes, statuses and times.
    # Connections beyond the gate's slots and queue, plus a few for health checks, are refused with 503 by uvicorn.
    uvicorn.run("fer_core.server.launch:app_from_environment", factory=True, host=host, port=port, workers=workers,
                access_log=False, server_header=False, timeout_keep_alive=5,
                limit_concurrency=config.analysis_slots + config.queue_limit + 8)


def serve_ray(config: ServerConfig, host: str, port: int, address: str | None, replicas: int | None) -> None:
    import ray
    from ray import serve

    from fer_core.server.ray_serve import build_app

    ray.init(address=address, include_dashboard=False)
    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(config, replicas), name="fer_core", route_prefix="/", blocking=True)
