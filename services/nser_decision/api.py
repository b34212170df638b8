"""The decision service as a FastAPI app: the stream consumer and the webhook worker run in its
lifespan; the REST API serves the alert history. Errors map to HTTP codes here and only here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from nser_decision.routes import router
from nser_decision.runtime import Runtime
from nser_decision.settings import DecisionSettings
from nser_decision.store import AlertNotFoundError, BadQueryError, IllegalTransitionError
from nser_shared.http_ops import add_operational_routes

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

    add_operational_routes(app, "the consumer and the webhook worker")

    return app
