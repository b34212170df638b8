"""Helpers of the analytics service's tests: the service served for real on loopback, a real
receiver for its notifications, and publishing results the way the MEC does."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import redis
import uvicorn
from support.processes import free_port, wait_until
from support.tokens import TOKENS_PATH, bearer

from nser_nwdaf.app import create_app
from nser_nwdaf.keys import CONSUMER_GROUP
from nser_nwdaf.settings import NwdafSettings
from nser_shared.http import signing
from nser_shared.stream.results import RESULTS_STREAM, ResultRecord

CELL_A, CELL_B = "00066c001", "00066c002"
PLMN = {"mcc": "001", "mnc": "01"}
SUBSCRIPTIONS = "/nnwdaf-eventssubscription/v1/subscriptions"
ANALYTICS = "/nnwdaf-analyticsinfo/v1/analytics"


def area(*cells: str) -> dict[str, Any]:
    return {"ncgis": [{"plmnId": PLMN, "nrCellId": cell} for cell in cells]}


class ServedApp:
    """`create_app(settings)` under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, settings: NwdafSettings) -> None:
        self.port = free_port()
        self.settings = replace(settings, port=self.port, consumer=f"test-{uuid.uuid4().hex[:8]}")
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> ServedApp:
        self.thread.start()
        wait_until(lambda: self.server.started, 15, f"nser_nwdaf on {self.url}")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "the service did not stop"

    def client(self) -> httpx.Client:
        """A client that sends the operator token (it may do everything)."""
        return httpx.Client(base_url=self.url, headers=bearer(), timeout=10.0)


class Receiver:
    """A notification consumer on loopback: records each POSTed JSON body, answers 204, or 500
    for the first `fail_first` requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[Any] = []
        self.signed: list[tuple[bytes, str]] = []  # (raw body, X-Nser-Signature) of each accepted
        self.attempts = 0
        self.fail_first = fail_first
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                with receiver.lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail_first
                    if not failing:
                        receiver.bodies.append(json.loads(raw))
                        receiver.signed.append((raw, self.headers.get(signing.HEADER, "")))
                self.send_response(500 if failing else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def received(self) -> list[Any]:
        with self.lock:
            return list(self.bodies)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Any]:
        wait_until(lambda: len(self.received()) >= count, timeout_s, f"{count} notifications")
        return self.received()


NOTIFY_KEY = "test notification key"  # notifications go out signed, or only when insecure


def fast_settings(redis_url: str, **overrides: Any) -> NwdafSettings:
    """Windows of seconds, not minutes, so a test sees surges and reports quickly."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "short_window_seconds": 3,
        "baseline_window_seconds": 30,
        "default_window_seconds": 60,
        "retention_seconds": 300,
        "tick_seconds": 0.1,
        "notify_backoff_seconds": 0.05,
        "notify_attempts": 4,
        "notify_timeout_seconds": 2.0,
        "tokens_file": TOKENS_PATH,
        "notify_secret": NOTIFY_KEY,
        "notify_allowed_hosts": ("127.0.0.1",),  # the tests' own receivers
    }
    return NwdafSettings(**{**values, **overrides})


def publish(client: redis.Redis, records: list[ResultRecord]) -> None:
    for record in records:
        client.xadd(RESULTS_STREAM, record.to_fields())  # type: ignore[arg-type]


def wait_consumed(client: redis.Redis, count: int, timeout_s: float = 10.0) -> None:
    """Until the analytics' consumer group has read and acknowledged `count` entries."""

    def done() -> bool:
        groups = {g["name"].decode(): g for g in client.xinfo_groups(RESULTS_STREAM)}
        group = groups.get(CONSUMER_GROUP)
        if group is None or group["pending"] != 0:
            return False
        if group["entries-read"] is not None:
            return int(group["entries-read"]) >= count
        # Redis leaves entries-read nil when it cannot place where the group started (a group
        # made at the stream's creation, say, after a Redis restart): then the group must have
        # delivered the stream's last entry.
        last = client.xinfo_stream(RESULTS_STREAM)["last-generated-id"]
        return bool(group["last-delivered-id"] == last and client.xlen(RESULTS_STREAM) >= count)

    wait_until(done, timeout_s, f"{count} results consumed")
