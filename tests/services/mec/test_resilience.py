"""Redis outages never block answers nor lose results silently; SIGTERM drains in-flight work."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from support.mec import MecProcess, feature_window, metric_value
from support.processes import RedisChild, free_port, wait_until

from nser_shared.results import RESULTS_STREAM, ResultRecord


def test_answers_while_redis_is_down_then_publishes_what_it_buffered(tmp_path: Path) -> None:
    redis_port = free_port()  # nothing listens here yet
    server = MecProcess(f"redis://127.0.0.1:{redis_port}/0", tmp_path / "mec.log").wait_serving()
    redis_server = RedisChild(redis_port, tmp_path)
    try:
        answers = [server.stub.Classify(feature_window(sequence=i), timeout=10) for i in range(10)]
        assert [a.sequence for a in answers] == list(range(10))
        wait_until(
            lambda: metric_value(server, "nser_mec_publish_failures_total") > 0,
            10.0,
            "a failed publish attempt",
        )
        assert metric_value(server, "nser_mec_published_total") == 0
        assert metric_value(server, "nser_mec_publish_buffered") == 10

        redis_server.start()
        client = redis_server.client()
        wait_until(lambda: client.xlen(RESULTS_STREAM) == 10, 15.0, "the buffered results")
        stored = {ResultRecord.from_fields(f).result_id for _, f in client.xrange(RESULTS_STREAM)}
        assert stored == {a.result_id for a in answers}
        assert metric_value(server, "nser_mec_publish_dropped_total") == 0
    finally:
        server.terminate()
        redis_server.stop()


def test_full_publish_buffer_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    redis_port = free_port()
    server = MecProcess(
        f"redis://127.0.0.1:{redis_port}/0", tmp_path / "mec.log", "--publish-buffer", "4"
    ).wait_serving()
    redis_server = RedisChild(redis_port, tmp_path)
    try:
        for i in range(10):
            server.stub.Classify(feature_window(sequence=i), timeout=10)
        assert metric_value(server, "nser_mec_publish_dropped_total") == 6
        redis_server.start()
        client = redis_server.client()
        wait_until(lambda: client.xlen(RESULTS_STREAM) == 4, 15.0, "the kept results")
        kept = sorted(
            ResultRecord.from_fields(f).sequence for _, f in client.xrange(RESULTS_STREAM)
        )
        assert kept == [6, 7, 8, 9]
    finally:
        server.terminate()
        redis_server.stop()


def test_sigterm_drains_in_flight_requests_and_publishes_them(
    redis_server: RedisChild, tmp_path: Path
) -> None:
    server = MecProcess(
        redis_server.url, tmp_path / "mec.log", "--models", "teacher", "--max-batch-size", "1"
    ).wait_serving()
    window = feature_window(model="teacher")
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(server.stub.Classify, window, timeout=30) for _ in range(6)]
        wait_until(
            lambda: metric_value(server, "nser_mec_requests_total", code="OK") >= 1,
            30.0,
            "the first answer",
        )
        code = server.terminate()  # SIGTERM while the rest are queued or running
        answers = [f.result() for f in futures]
    assert code == 0
    assert all(a.model == "teacher" for a in answers)
    client = redis_server.client()
    stored = {ResultRecord.from_fields(f).result_id for _, f in client.xrange(RESULTS_STREAM)}
    assert {a.result_id for a in answers} <= stored
    assert "stopped" in (tmp_path / "mec.log").read_text()


def test_stopped_server_refuses_new_calls_as_unavailable(
    redis_server: RedisChild, tmp_path: Path
) -> None:
    server = MecProcess(redis_server.url, tmp_path / "mec.log").wait_serving()
    address = server.address
    assert server.terminate() == 0
    with grpc.insecure_channel(address) as channel:
        stub = MecProcess.stub_for(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Classify(feature_window(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
