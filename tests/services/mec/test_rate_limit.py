"""Per-device rate limits: one device cannot flood the MEC, and is told when to come back."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from support.mec import MecProcess, feature_window
from support.processes import RedisChild

from nser_mec.errors import DeviceRateLimitedError
from nser_mec.ratelimit import DeviceRateLimiter


def test_bucket_admits_the_burst_then_the_rate() -> None:
    limiter = DeviceRateLimiter(rate_per_s=2.0, burst=3)
    for _ in range(3):
        limiter.admit("phone-1", now=100.0)
    with pytest.raises(DeviceRateLimitedError) as caught:
        limiter.admit("phone-1", now=100.0)
    assert caught.value.retry_after_s == pytest.approx(0.5)
    limiter.admit("phone-2", now=100.0)  # another device has its own bucket
    limiter.admit("phone-1", now=100.5)  # half a second later: one more token


def test_table_of_devices_is_bounded() -> None:
    limiter = DeviceRateLimiter(rate_per_s=1.0, burst=1, max_devices=10)
    for i in range(100):
        limiter.admit(f"phone-{i}", now=0.0)
    assert len(limiter.buckets) == 10


def test_a_flooding_device_gets_resource_exhausted_with_retry_advice(
    redis_server: RedisChild, tmp_path: Path
) -> None:
    server = MecProcess(
        redis_server.url, tmp_path / "mec.log", "--device-rate", "1", "--device-burst", "3"
    ).wait_serving()
    try:
        for i in range(3):
            server.stub.Classify(feature_window(sequence=i, device_id="watch-0001"), timeout=10)
        with pytest.raises(grpc.RpcError) as caught:
            server.stub.Classify(feature_window(sequence=3, device_id="watch-0001"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "watch-0001 exceeds its limit of 1 windows/s" in caught.value.details()
        trailers = dict(caught.value.trailing_metadata())
        assert 0 < int(trailers["retry-after-ms"]) <= 1000
        other = server.stub.Classify(feature_window(device_id="phone-0002"), timeout=10)
        assert other.device_id == "phone-0002"
        # On a stream, "not now" ends it, but only after the windows read before are answered:
        # they may be published already, and the device would otherwise send them again.
        windows = [feature_window(sequence=i, device_id="watch-0002") for i in range(10)]
        answered: list[int] = []
        with pytest.raises(grpc.RpcError) as caught:
            answered.extend(
                a.sequence for a in server.stub.ClassifyStream(iter(windows), timeout=10)
            )
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "window sequence 3" in caught.value.details()
        assert sorted(answered) == [0, 1, 2]
    finally:
        server.terminate()
