"""The operational routes every nser REST service serves: `/healthz` (the process answers),
`/readyz` (Redis answers and the service's background work runs) and `/metrics` (Prometheus).
The app keeps its runtime in `app.state.runtime`."""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError


class OperationalRuntime(Protocol):
    redis: Any  # redis.asyncio.Redis
    metrics: Any  # has .registry

    def running(self) -> bool: ...

    async def refresh_metrics(self) -> None:
        """Set the gauges read from Redis (e.g. the stream backlog) before a scrape."""


def add_operational_routes(app: FastAPI, what_runs: str) -> None:
    @app.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary=f"Readiness: Redis answers and {what_runs} runs",
        responses={503: {"description": "not ready"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        rt: OperationalRuntime = request.app.state.runtime
        with contextlib.suppress(RedisError, OSError):
            if rt.running() and await rt.redis.ping():
                return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready"}, status_code=503)

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
    )
    async def metrics(request: Request) -> Response:
        rt: OperationalRuntime = request.app.state.runtime
        with contextlib.suppress(RedisError, OSError):  # Redis down: the last values stay
            await rt.refresh_metrics()
        return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
