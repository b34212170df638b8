"""A window is answered only once its result is in the stream: a Redis outage makes the MEC
refuse windows (UNAVAILABLE, retryable) rather than acknowledge what it cannot keep; SIGTERM
drains in-flight work."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from support.mec import MecProcess, feature_window, metric_value
from support.processes import RedisChild, free_port, wait_until

from nser_shared.stream.results import RESULTS_STREAM, ResultRecord


def _refusal(server: MecProcess, window: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        server.stub.Classify(window, timeout=10)
    return caught.value


def test_no_window_is_answered_before_its_result_is_in_the_stream(tmp_path: Path) -> None:
    redis_port = free_port()  # nothing listens here yet
    server = MecProcess(
        f"redis://127.0.0.1:{redis_port}/0", tmp_path / "mec.log", "--publish-timeout-s", "0.5"
    ).wait_serving()
    redis_server = RedisChild(redis_port, tmp_path)
    try:
        windows = [feature_window(sequence=i) for i in range(3)]
        for window in windows:  # Redis is down: refused, retryable, after the publish timeout
            error = _refusal(server, window)
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            assert "results stream" in (error.details() or "")
        assert metric_value(server, "nser_mec_publish_refused_total", reason="timeout") == 3
        assert metric_value(server, "nser_mec_published_total") == 0
        assert metric_value(server, "nser_mec_publish_buffered") == 3

        redis_server.start()
        client = redis_server.client()
        # The refused results are still appended once Redis is back ...
        wait_until(lambda: client.xlen(RESULTS_STREAM) == 3, 15.0, "the waiting results")
        # ... and the devices' retries are answered under the same result ids.
        answers = [server.stub.Classify(window, timeout=10) for window in windows]
        stored = [ResultRecord.from_fields(f) for _, f in client.xrange(RESULTS_STREAM)]
        ids = [record.result_id for record in stored]
        assert sorted(ids) == sorted(2 * [a.result_id for a in answers])
        assert all(record.published_at >= record.inferred_at > 0 for record in stored)
    finally:
        server.terminate()
        redis_server.stop()


def test_full_publish_buffer_refuses_windows_at_once(tmp_path: Path) -> None:
    redis_port = free_port()
    server = MecProcess(
        f"redis://127.0.0.1:{redis_port}/0",
        tmp_path / "mec.log",
        *("--publish-buffer", "2", "--publish-timeout-s", "5"),
    ).wait_serving()
    try:
        with ThreadPoolExecutor(2) as pool:
            waiting = [pool.submit(_refusal, server, feature_window(sequence=i)) for i in range(2)]
            wait_until(
                lambda: metric_value(server, "nser_mec_publish_buffered") == 2,
                10.0,
                "two results waiting for Redis",
            )
            error = _refusal(server, feature_window(sequence=2))
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            assert "2 results are waiting" in (error.details() or "")
            assert metric_value(server, "nser_mec_publish_refused_total", reason="buffer_full") == 1
            assert [f.result().code() for f in waiting] == 2 * [grpc.StatusCode.UNAVAILABLE]
    finally:
        server.terminate()


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
