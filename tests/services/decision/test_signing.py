"""Signed webhooks: a responder can tell a real alert from a forged or replayed one."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from support.decision import settings_for
from support.http import UvicornThread, WebhookReceiver
from support.processes import RedisChild
from support.results import make_record

from nser_decision.api import create_app
from nser_decision.settings import DecisionSettings, resolve
from nser_shared.errors import ConfigurationError
from nser_shared.http import signing
from nser_shared.stream.results import RESULTS_STREAM

SECRET = "correct horse battery staple"


def test_signature_verifies_only_the_exact_body_with_the_right_key_in_time() -> None:
    body = b'{"id": "abc"}'
    header = signing.sign(SECRET, body)
    assert signing.verify(SECRET, header, body)
    assert not signing.verify("another key", header, body)
    assert not signing.verify(SECRET, header, body + b" ")
    stale = signing.sign(SECRET, body, timestamp=int(time.time()) - 3600)
    assert not signing.verify(SECRET, stale, body)
    assert not signing.verify(SECRET, "v1=deadbeef", body)


def test_webhooks_carry_a_signature_the_responder_can_verify(redis_server: RedisChild) -> None:
    with WebhookReceiver() as receiver:
        settings = settings_for(redis_server.url, receiver, webhook_secret=SECRET)
        with UvicornThread(create_app(settings)) as server:
            redis_server.client().xadd(RESULTS_STREAM, make_record().to_fields())  # type: ignore[arg-type]
            receiver.wait_for("/health", 1)
            header = receiver.headers["/health"][0][signing.HEADER]
            assert signing.verify(SECRET, header, receiver.bodies["/health"][0])
            assert SECRET not in httpx.get(f"{server.url}/metrics").text
    assert SECRET not in repr(settings)


def test_webhooks_to_internal_hosts_are_refused_unless_allowed() -> None:
    metadata = {"police": "http://169.254.169.254/latest", "healthcare": "https://care.example/"}
    with pytest.raises(
        ConfigurationError, match=r"webhook of police: 169\.254\.169\.254 is link-local"
    ):
        DecisionSettings(webhooks=metadata, webhook_secret="k")
    local = {"police": "http://127.0.0.1:9000/police"}
    with pytest.raises(ConfigurationError, match="NSER_DECISION_WEBHOOK_ALLOWED_HOSTS"):
        DecisionSettings(webhooks=local, webhook_secret="k")
    assert DecisionSettings(
        webhooks=local, webhook_secret="k", webhook_allowed_hosts=("127.0.0.1",)
    )


def test_webhooks_without_a_key_are_refused_unless_insecure() -> None:
    webhooks = {"police": "https://police.example/alerts"}
    with pytest.raises(ConfigurationError, match="webhooks would go out unsigned"):
        DecisionSettings(webhooks=webhooks)
    assert DecisionSettings(webhooks=webhooks, insecure=True).webhook_secret == ""
    assert DecisionSettings(webhooks=webhooks, webhook_secret_file="webhook.secret")


def test_webhooks_are_signed_with_the_key_in_the_secret_file(
    redis_server: RedisChild, tmp_path: Path
) -> None:
    key_file = tmp_path / "webhook.secret"
    key_file.write_text(SECRET.replace(" ", "-") + "\n")  # as nser credentials writes it
    with WebhookReceiver() as receiver:
        settings = settings_for(
            redis_server.url, receiver, webhook_secret="", webhook_secret_file=str(key_file)
        )
        with UvicornThread(create_app(settings)):
            redis_server.client().xadd(RESULTS_STREAM, make_record().to_fields())  # type: ignore[arg-type]
            receiver.wait_for("/health", 1)
            header = receiver.headers["/health"][0][signing.HEADER]
            body = receiver.bodies["/health"][0]
            assert signing.verify(SECRET.replace(" ", "-"), header, body)


def test_bounds_on_redis_memory_come_from_the_environment_and_are_checked() -> None:
    assert resolve(environ={"NSER_DECISION_DONE_TTL_SECONDS": "300"}).done_ttl_seconds == 300
    with pytest.raises(ConfigurationError, match="done_ttl_seconds must be >= 60"):
        DecisionSettings(done_ttl_seconds=10)
    assert resolve(environ={"NSER_DECISION_EVENTS_MAXLEN": "5000"}).events_maxlen == 5000
    with pytest.raises(ConfigurationError, match="events_maxlen must be >= 1"):
        DecisionSettings(events_maxlen=0)
