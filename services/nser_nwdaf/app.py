"""The analytics service as a FastAPI app: the stream consumer and the notifier run in its
lifespan; the Nnwdaf APIs, health and metrics share one port."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nser_nwdaf import openapi, problems
from nser_nwdaf.metrics import NwdafMetrics
from nser_nwdaf.routes_analytics import router as analytics_router
from nser_nwdaf.routes_subscriptions import router as subscriptions_router
from nser_nwdaf.runtime import Runtime
from nser_nwdaf.settings import NwdafSettings
from nser_shared import http_auth, http_docs
from nser_shared.http_limits import RequestSizeLimit
from nser_shared.http_ops import add_operational_routes


class RequestMetrics:
    """Counts and times every request by its route template (never by raw path)."""

    def __init__(self, app: ASGIApp, metrics: NwdafMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.http_requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.http_request_seconds.labels(route).observe(time.perf_counter() - started)


def create_app(settings: NwdafSettings) -> FastAPI:
    """The app; ConfigurationError (before anything runs) without usable API tokens or a key to
    sign notifications with (either may be missing only when insecure)."""
    tokens = http_auth.access_table(settings.tokens_file, settings.insecure, "nwdaf")
    rt = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt.start()
        try:
            yield
        finally:
            await rt.close()

    app = FastAPI(
        title="nser NWDAF-like analytics service",
        version="1.0.0",
        description="Analytics on the results stream of the MEC inference service, modelled on "
        "3GPP TS 29.520 (Nnwdaf_AnalyticsInfo, Nnwdaf_EventsSubscription): emotion analytics "
        "per cell and device, negative-scream surges, MEC load and delay. See docs/nwdaf.md.",
        lifespan=lifespan,
        docs_url=None,  # http_docs serves /docs from local assets
        redoc_url=None,
    )
    http_docs.install(app)
    app.state.runtime = rt
    app.include_router(analytics_router)
    app.include_router(subscriptions_router)
    problems.install(app)
    openapi.install(app)
    http_auth.install(app, tokens)
    app.add_middleware(
        RequestSizeLimit,
        max_body_bytes=settings.max_body_bytes,
        reject=problems.problem,
    )
    app.add_middleware(RequestMetrics, metrics=rt.metrics)  # outermost: counts the 413s too

    add_operational_routes(app, "the consumer and the notifier")

    return app
