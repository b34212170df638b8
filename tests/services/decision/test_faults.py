"""Faults with real processes: a replica killed mid-batch, and Redis restarted under load."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest
from support.processes import RedisChild, free_port, wait_until
from support.results import make_record
from support.tokens import TOKENS_PATH

from nser_decision.store import ALERTS, COUNTS
from nser_shared.stream.results import RESULTS_STREAM
from nser_up.processes import HttpServiceChild

DEVICES, WINDOWS = 50, 20  # 1,000 negative-scream results, one incident per device


def _replica(name: str, redis_url: str, workdir: Path) -> HttpServiceChild:
    port = free_port()
    args = ["--port", str(port), "--redis-url", redis_url, "--consumer", name,
            "--claim-idle-ms", "500", "--incident-gap-seconds", "600",
            "--tokens-file", TOKENS_PATH, "--insecure"]  # fmt: skip
    return HttpServiceChild("nser_decision", args, workdir / f"{name}.log", port)


def _decided(redis_server: RedisChild) -> int:
    return sum(int(v) for v in redis_server.client().hgetall(COUNTS).values())


def _publish_incidents(redis_server: RedisChild, t0: float) -> None:
    client = redis_server.client()
    pipe = client.pipeline(transaction=False)
    for w in range(WINDOWS):
        for d in range(DEVICES):
            record = make_record(device_id=f"phone-{d:04d}", sequence=w, captured_at=t0 + w)
            pipe.xadd(RESULTS_STREAM, record.to_fields())  # type: ignore[arg-type]
    pipe.execute()


def _check_every_result_once(redis_server: RedisChild) -> None:
    client = redis_server.client()
    assert client.xpending(RESULTS_STREAM, "decision")["pending"] == 0
    assert _decided(redis_server) == DEVICES * WINDOWS
    alert_ids = [m.decode() for m in client.zrange(ALERTS, 0, -1)]
    assert len(alert_ids) == DEVICES  # no duplicate alert
    windows = [
        httpx.Response(200, content=client.get(f"nser:decision:alert:{a}")).json()["windows"]
        for a in alert_ids
    ]
    assert windows == [WINDOWS] * DEVICES  # no result applied twice, none lost


@pytest.mark.slow
def test_replica_killed_mid_batch_is_taken_over_without_loss_or_duplicates(
    redis_server: RedisChild, tmp_path: Path
) -> None:
    first = _replica("replica-a", redis_server.url, tmp_path)
    second = _replica("replica-b", redis_server.url, tmp_path)
    first.start()
    _publish_incidents(redis_server, time.time())
    wait_until(lambda: _decided(redis_server) >= 150, 60.0, "the first replica at work")
    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)  # mid-batch: read, partly applied, not acked
    first.process.wait()
    assert _decided(redis_server) < DEVICES * WINDOWS
    second.start()
    try:
        wait_until(lambda: _decided(redis_server) >= DEVICES * WINDOWS, 120.0, "every result")
        wait_until(
            lambda: redis_server.client().xpending(RESULTS_STREAM, "decision")["pending"] == 0,
            30.0,
            "no pending result",
        )
        _check_every_result_once(redis_server)
    finally:
        second.stop()


@pytest.mark.slow
def test_redis_restart_under_load_the_service_reconnects_and_resumes(tmp_path: Path) -> None:
    redis_server = RedisChild(free_port(), tmp_path, appendfsync="always")
    redis_server.start()
    replica = _replica("replica", redis_server.url, tmp_path)
    replica.start()
    try:
        _publish_incidents(redis_server, time.time())  # 1,000 results
        wait_until(lambda: _decided(redis_server) >= 200, 60.0, "decisions under way")
        redis_server.stop()  # SIGTERM: the append-only file keeps what was acknowledged
        time.sleep(1.0)
        redis_server.start()
        wait_until(
            lambda: _decided(redis_server) >= DEVICES * WINDOWS, 120.0, "the rest after restart"
        )
        wait_until(
            lambda: redis_server.client().xpending(RESULTS_STREAM, "decision")["pending"] == 0,
            30.0,
            "no pending result",
        )
        _check_every_result_once(redis_server)
        wait_until(
            lambda: httpx.get(f"{replica.url}/readyz", timeout=5).status_code == 200,
            10.0,
            "ready again",
        )
    finally:
        replica.stop()
        redis_server.stop()
