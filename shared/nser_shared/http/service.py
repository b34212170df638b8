"""The skeleton both REST services (decision, analytics) are built on: one lifespan that starts
and closes the service's runtime, one request-metrics middleware, the same middleware order,
and one way to serve: uvicorn returning 0 after a graceful stop on SIGTERM or SIGINT.

A service adds its own routes and error mapping to the app `service_app` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import uvicorn
import uvloop
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nser_shared.buckets import LATENCY_BUCKETS_SECONDS
from nser_shared.http import auth as http_auth
from nser_shared.http import docs as http_docs
from nser_shared.http.limits import RequestSizeLimit
from nser_shared.http.ops import add_operational_routes
from nser_shared.security.tls import server_tls

SHUTDOWN_GRACE_S = 10  # after SIGTERM, requests in flight get this long to finish


class ServiceRuntime(Protocol):
    """A service's running parts: background tasks started with the app, closed after it."""

    metrics: Any  # has .registry and .http (HttpMetrics)

    def start(self) -> None: ...

    async def close(self) -> None: ...


class HttpMetrics:
    """Requests answered and their duration, by route template (never by raw path)."""

    def __init__(self, prefix: str, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            f"{prefix}_http_requests_total",
            "API requests answered, by route template, method and status code",
            ["route", "method", "code"],
            registry=registry,
        )
        self.seconds = Histogram(
            f"{prefix}_http_request_duration_seconds",
            "Time to answer an API request",
            ["route"],
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=registry,
        )


class RequestMetrics:
    """ASGI middleware recording every HTTP request in `HttpMetrics`."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
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
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.seconds.labels(route).observe(time.perf_counter() - started)


def service_app(
    *,
    title: str,
    description: str,
    runtime: ServiceRuntime,
    tokens: http_auth.TokenFile | None,
    max_body_bytes: int,
    reject: Callable[..., Any],
    background: str,
) -> FastAPI:
    """The app of a REST service: its runtime started in the lifespan and at `app.state.runtime`,
    offline /docs, API tokens, the body size limit (answered by `reject`), request metrics
    (outermost, so the limit's 413s count too), health, readiness and /metrics (`background`
    names what readiness waits for)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title=title,
        version="1.0.0",
        description=description,
        lifespan=lifespan,
        docs_url=None,  # http_docs serves /docs from local assets
        redoc_url=None,
    )
    app.state.runtime = runtime
    http_docs.install(app)
    http_auth.install(app, tokens)
    app.add_middleware(RequestSizeLimit, max_body_bytes=max_body_bytes, reject=reject)
    app.add_middleware(RequestMetrics, metrics=runtime.metrics.http)
    add_operational_routes(app, background)
    return app


class _Server(uvicorn.Server):
    """uvicorn, stopping gracefully on SIGTERM/SIGINT and then returning, so a clean stop exits
    0 (uvicorn's own handlers re-raise the signal once shut down, which kills the process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def handle_exit(self, sig: int, frame: object) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def serve(
    make_app: Callable[[], FastAPI], service: str, settings: Any, table: dict[str, Any]
) -> int:
    """Serve the app `make_app` builds on `settings.host`:`settings.port` until SIGTERM or
    SIGINT, over HTTPS with the TLS files `settings` names (`table` is the service's settings
    table, for the error that says which to set), or plaintext with `settings.insecure`; 0 after
    a graceful stop. TLS is checked first: a service without it does not start."""
    tls = server_tls(service, settings, table, plaintext="HTTP is plaintext")
    config = uvicorn.Config(
        make_app(),
        host=settings.host,
        port=settings.port,
        log_config=None,  # logging was configured once by the entry point
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        ssl_certfile=None if tls is None else str(tls.cert_path),
        ssl_keyfile=None if tls is None else str(tls.key_path),
    )
    # uvloop, not asyncio's own loop: Python 3.11's asyncio TLS transport keeps about 150 KiB
    # of every idle keep-alive connection the server closes (a scraper's, every few seconds),
    # and uvloop's does not (`python -m nser_loadtest.tls_idle_close`, docs/soak.md).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_Server(config).serve())
    return 0
