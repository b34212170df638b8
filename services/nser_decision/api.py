"""The decision service as a FastAPI app: the stream consumer and the webhook worker run in its
lifespan; the REST API serves the alert history. Errors map to HTTP codes here and only here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from nser_decision.routes import router
from nser_decision.runtime import Runtime, RuntimeDep
from nser_decision.settings import DecisionSettings
from nser_decision.store import AlertNotFoundError, BadQueryError, IllegalTransitionError

log = logging.getLogger(__name__)

ERROR_STATUS: dict[type[Exception], int] = {
    BadQueryError: 400,
    AlertNotFoundError: 404,
    IllegalTransitionError: 409,
    RedisError: 503,
}


def create_app(settings: DecisionSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = Runtime(settings)
        app.state.runtime = rt
        rt.start()
        try:
            yield
        finally:
            await rt.close()

    app = FastAPI(
        title="nser decision service",
        version="1.0.0",
        description="Alerts for negative screams, from the results stream of the MEC inference "
        "service; incidents, responders, and the alert history.",
        lifespan=lifespan,
    )
    app.include_router(router)

    for error, status in ERROR_STATUS.items():

        async def handle(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            detail = str(exc) if status != 503 else f"Redis unavailable: {exc}"
            return JSONResponse({"detail": detail}, status_code=status)

        app.add_exception_handler(error, handle)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: Redis answers and the consumer runs",
        responses={503: {"description": "not ready"}},
    )
    async def readyz(rt: RuntimeDep) -> JSONResponse:
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
    async def metrics(rt: RuntimeDep) -> Response:
        return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
