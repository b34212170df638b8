"""The decision service as a FastAPI app (nser_shared.http.service): the stream consumer and
the webhook worker run in its lifespan; the REST API serves the alert history. Errors map to HTTP
codes here and only here.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from nser_decision.errors import (
    AlertNotFoundError,
    BadQueryError,
    FeedFullError,
    IllegalTransitionError,
)
from nser_decision.routes import router
from nser_decision.runtime import Runtime
from nser_decision.settings import DecisionSettings
from nser_shared.errors import AccessDeniedError
from nser_shared.http import auth as http_auth
from nser_shared.http.service import service_app

log = logging.getLogger(__name__)

ERROR_STATUS: dict[type[Exception], int] = {
    BadQueryError: 400,
    AlertNotFoundError: 404,
    IllegalTransitionError: 409,
    RedisError: 503,
    FeedFullError: 503,
}


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def create_app(settings: DecisionSettings) -> FastAPI:
    """The app; ConfigurationError (before anything runs) without usable API tokens."""
    app = service_app(
        title="nser decision service",
        description="Alerts for negative screams, from the results stream of the MEC inference "
        "service; incidents, responders, and the alert history.",
        runtime=Runtime(settings),
        tokens=http_auth.access_table(settings.tokens_file, settings.insecure, "decision"),
        max_body_bytes=settings.max_body_bytes,
        reject=_error,
        background="the consumer and the webhook worker",
    )
    app.include_router(router)

    for error, status in ERROR_STATUS.items():

        async def handle(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            detail = f"Redis unavailable: {exc}" if isinstance(exc, RedisError) else str(exc)
            return _error(status, detail)

        app.add_exception_handler(error, handle)

    async def denied(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AccessDeniedError)
        return _error(exc.status, exc.detail, exc.headers)

    app.add_exception_handler(AccessDeniedError, denied)
    return app
