"""The same FastAPI app on Ray Serve: each replica builds it from its config (fer_core.server.app.create_app), so
the analysis code is the one the single-process server runs.

`serve run fer_core.server.ray_serve:app` (or deploy/serve_config.yaml) deploys it with the default settings;
`fer-core serve --engine ray` with the command line's.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from ray import serve

from fer_core.server.app import create_app
from fer_core.server.config import ServerConfig

DEPLOYMENT_NAME = "FerApi"
MAX_AUTOSCALED_REPLICAS = 4


def deployment_options(config: ServerConfig, replicas: int | None) -> dict[str, Any]:
    """A fixed number of replicas, or (None) replicas that follow the load: one more per `analysis_slots` requests
    in flight on average, between 1 and MAX_AUTOSCALED_REPLICAS. Each replica takes one CPU, and as many requests as
    its own gate admits, so a burst queues in Ray Serve's proxy before any replica refuses one."""
    scaling: dict[str, Any] = (
        {"num_replicas": replicas} if replicas else
        {"autoscaling_config": {"min_replicas": 1, "max_replicas": MAX_AUTOSCALED_REPLICAS,
                                "target_ongoing_requests": config.analysis_slots}})
    return scaling | {"name": DEPLOYMENT_NAME, "ray_actor_options": {"num_cpus": 1},
                      "max_ongoing_requests": config.analysis_slots + config.queue_limit}


def build_app(config: ServerConfig | None = None, replicas: int | None = None) -> serve.Application:
    config = config or ServerConfig()

    def build_asgi_app() -> FastAPI:  # a function, which Ray Serve calls on each replica to build its app
        return create_app(config)

    @serve.ingress(build_asgi_app)
    class FerApi:
        """The replica: its routes are the FastAPI app's."""

    deployment: serve.Deployment = serve.deployment(**deployment_options(config, replicas))(FerApi)
    return deployment.bind()


app = build_app()
