"""The analytics service as a FastAPI app (nser_shared.http.service): the stream consumer and
the notifier run in its lifespan; the Nnwdaf APIs, health and metrics share one port."""

from __future__ import annotations

from fastapi import FastAPI

from nser_nwdaf import openapi, problems
from nser_nwdaf.routes_analytics import router as analytics_router
from nser_nwdaf.routes_subscriptions import router as subscriptions_router
from nser_nwdaf.runtime import Runtime
from nser_nwdaf.settings import NwdafSettings
from nser_shared.http import auth as http_auth
from nser_shared.http.service import service_app


def create_app(settings: NwdafSettings) -> FastAPI:
    """The app; ConfigurationError (before anything runs) without usable API tokens or a key to
    sign notifications with (either may be missing only when insecure)."""
    app = service_app(
        title="nser NWDAF-like analytics service",
        description="Analytics on the results stream of the MEC inference service, modelled on "
        "3GPP TS 29.520 (Nnwdaf_AnalyticsInfo, Nnwdaf_EventsSubscription): emotion analytics "
        "per cell and device, negative-scream surges, MEC load and delay. See docs/nwdaf.md.",
        runtime=Runtime(settings),
        tokens=http_auth.access_table(settings.tokens_file, settings.insecure, "nwdaf"),
        max_body_bytes=settings.max_body_bytes,
        reject=problems.problem,
        background="the consumer and the notifier",
    )
    app.include_router(analytics_router)
    app.include_router(subscriptions_router)
    problems.install(app)
    openapi.install(app)
    return app
