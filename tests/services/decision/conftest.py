"""The decision service under uvicorn on loopback, over a real redis-server, with a real
webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.decision import DecisionUnderTest, client, settings_for
from support.http import UvicornThread, WebhookReceiver
from support.processes import RedisChild

from nser_decision.api import create_app


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first={"/police": 2}) as r:
        yield r


@pytest.fixture
def decision(redis_server: RedisChild, receiver: WebhookReceiver) -> Iterator[DecisionUnderTest]:
    app = create_app(settings_for(redis_server.url, receiver))
    with UvicornThread(app) as server, client(server.url) as http:
        yield DecisionUnderTest(server.url, redis_server.client(), receiver, http)
