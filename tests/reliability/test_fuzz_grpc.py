"""Property-based fuzzing of the MEC's gRPC feature message against a real server process:
windows with random shapes, dtypes (unknown enum values included), byte lengths that do not
match their shape, NaN / infinite / huge values, empty and huge strings. Every call gets a status
the contract names (never UNKNOWN or INTERNAL), the server stays healthy, and its resident memory
after warm-up grows by less than RSS_BOUND_KB. Random bytes as a whole message are
INVALID_ARGUMENT too (the servicer's own deserializer, nser_mec.servicer.parse_window)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import mec_child
from support.mec import feature_window
from support.processes import RedisChild, free_port

from nser.v1 import mec_inference_pb2 as pb
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_up.processes import MecChild, grpc_channel

EXAMPLES = 250
RSS_BOUND_KB = 48 * 1024  # growth allowed after warm-up: allocator slack, not a leak
ANSWERS = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,  # a malformed window
    grpc.StatusCode.NOT_FOUND,  # an unknown model
    grpc.StatusCode.FAILED_PRECONDITION,  # another feature configuration
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # too large, or the device's rate limit
}
SHAPE = list(DEFAULT_FEATURE_CONFIG.shape)


def _rss_kb(child: MecChild) -> int:
    assert child.process is not None
    for line in Path(f"/proc/{child.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def mec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MecChild, grpc.Channel]]:
    workdir = tmp_path_factory.mktemp("fuzz-grpc")
    redis_server = RedisChild(free_port(), workdir)
    redis_server.start()
    child = mec_child(redis_server.url, workdir)
    child.start()
    channel = grpc_channel(child.address, None)
    try:
        yield child, channel
    finally:
        channel.close()
        child.stop()
        redis_server.stop()


texts = st.one_of(st.just(""), st.text(max_size=64), st.text(min_size=5000, max_size=20000))
extreme = st.sampled_from([np.nan, np.inf, -np.inf, 3.4e38, -3.4e38, 1e-45, 0.0])


@st.composite
def tensors(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "extreme", "truncated", "empty"]))
    if kind == "random":
        return draw(st.binary(max_size=4096))
    if kind == "empty":
        return b""
    values = np.full(SHAPE, draw(extreme), dtype=np.float32).tobytes()
    return values if kind == "extreme" else values[: draw(st.integers(0, len(values) - 1))]


@st.composite
def windows(draw: st.DrawFn) -> pb.FeatureWindow:
    """A valid window with some of its fields replaced by hostile values."""
    window = pb.FeatureWindow()
    window.CopyFrom(feature_window())  # stamped now: the MEC refuses stale sent_at
    if draw(st.booleans()):
        window.device_id = draw(texts)
    if draw(st.booleans()):
        window.device_kind = draw(st.integers(-(2**31), 2**31 - 1))  # unknown values too
    if draw(st.booleans()):
        window.nr_cell_id = draw(texts)
    window.sequence = draw(st.integers(0, 2**64 - 1))
    if draw(st.booleans()):
        window.captured_at.seconds = draw(st.integers(-(2**40), 2**40))
        window.captured_at.nanos = draw(st.integers(-(2**31), 2**31 - 1))
    if draw(st.booleans()):
        window.feature_config_id = draw(texts)
    if draw(st.booleans()):
        del window.shape[:]
        window.shape.extend(draw(st.lists(st.integers(0, 2**32 - 1), max_size=6)))
    if draw(st.booleans()):
        window.dtype = draw(st.integers(-(2**31), 2**31 - 1))
    if draw(st.booleans()):
        window.scale = draw(st.one_of(st.floats(width=32), extreme))
    if draw(st.booleans()):
        window.tensor = draw(tensors())
    if draw(st.booleans()):
        window.model = draw(st.one_of(texts, st.sampled_from(["student", "teacher"])))
    return window


def _code(call: grpc.UnaryUnaryMultiCallable, request: object) -> grpc.StatusCode:
    try:
        call(request, timeout=30)
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_hostile_messages_get_contract_statuses_and_memory_stays_bounded(
    mec: tuple[MecChild, grpc.Channel],
) -> None:
    child, channel = mec
    classify = channel.unary_unary(
        "/nser.v1.MecInference/Classify",
        request_serializer=pb.FeatureWindow.SerializeToString,
        response_deserializer=pb.Classification.FromString,
    )
    seen: dict[grpc.StatusCode, int] = {}

    @given(message=windows())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(message: pb.FeatureWindow) -> None:
        code = _code(classify, message)
        seen[code] = seen.get(code, 0) + 1
        assert code in ANSWERS, f"{code} for {message!r:.300}"

    fuzz()  # warm-up: every code path once, allocator pools filled
    before = _rss_kb(child)
    seen.clear()
    fuzz()
    after = _rss_kb(child)
    print(f"gRPC fuzz: {seen}; RSS {before} -> {after} kB")
    assert after - before < RSS_BOUND_KB
    answered = _code(classify, feature_window())
    assert answered in (grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED)
    health = child.health(channel)
    assert health == health_pb2.HealthCheckResponse.SERVING
    child.check_alive()


@given(garbage=st.sampled_from([b"\x00", b"\xff\xff\xff", b"\x0a\x80"]) | st.binary(max_size=512))
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_bytes_that_are_not_a_window_are_invalid_argument(
    mec: tuple[MecChild, grpc.Channel], garbage: bytes
) -> None:
    raw = mec[1].unary_unary("/nser.v1.MecInference/Classify")  # bytes in, bytes out
    assert _code(raw, garbage) in ANSWERS
