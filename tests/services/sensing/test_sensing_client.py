"""The device client against a real gRPC server on a loopback port (the fake in conftest.py)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from fake_mec import FakeMec
from support.processes import free_port

from nser.v1 import mec_inference_pb2 as pb
from nser_sensing.client import ClientConfig, run_sensing
from nser_sensing.devices import Device, WindowFramer, build_devices
from nser_sensing.errors import MecUnreachableError
from nser_sensing.metrics import OK, summary_text
from nser_sensing.sentlog import SentLog
from nser_sensing.session import DeviceSession, Pending
from nser_sensing.transport import INSECURE
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.links import LinkProfile
from nser_shared.wire.windows import PayloadDtype, decode_window

# The fake MEC is plaintext: every client here runs --insecure (mutual TLS: mec/test_mtls.py).
FAST = {"realtime": False, "backoff_s": 0.01, "connect_timeout_s": 5.0, "transport": INSECURE}


def _devices(count: int = 1, seconds: float = 5.0, scene: str = "assault") -> list[Device]:
    return build_devices(count, scene=scene, seconds=seconds, profiles=("ideal",))


def test_every_window_is_answered_and_recorded(fake_mec: FakeMec) -> None:
    report = run_sensing(_devices(2), WindowFramer(), ClientConfig(fake_mec.target, **FAST))
    totals = report.totals()
    assert (totals["windows_framed"], totals["windows_sent"], totals["answers"]) == (6, 6, 6)
    assert totals["errors"] == {}
    for device in report.devices:
        assert [r.sequence for r in device.requests] == [0, 1, 2]
        assert all(r.status == OK and r.latency_ms is not None for r in device.requests)
    assert "6 answered" in summary_text(report)


def test_unavailable_is_retried_with_backoff_until_it_succeeds(fake_mec: FakeMec) -> None:
    fake_mec.fail_first = 2
    report = run_sensing(_devices(), WindowFramer(), ClientConfig(fake_mec.target, **FAST))
    records = report.devices[0].requests
    assert [r.status for r in records] == [OK, OK, OK]
    assert [r.attempts for r in records] == [3, 1, 1]
    assert report.totals()["retries"] == 2
    assert records[0].request_bytes == pytest.approx(3 * records[1].request_bytes, rel=1e-3)
    assert len(fake_mec.received) == 3  # the refused attempts never reached the answer path


def test_retries_are_bounded(fake_mec: FakeMec) -> None:
    fake_mec.fail_first = 1000
    config = ClientConfig(fake_mec.target, max_attempts=3, **FAST)
    report = run_sensing(_devices(), WindowFramer(), config)
    totals = report.totals()
    assert totals["errors"] == {"UNAVAILABLE": 3}
    assert totals["answers"] == 0
    assert all(r.attempts == 3 for r in report.devices[0].requests)


def test_other_errors_are_recorded_by_code_and_not_retried(fake_mec: FakeMec) -> None:
    fake_mec.fail_first, fake_mec.fail_code = 1, grpc.StatusCode.INVALID_ARGUMENT
    report = run_sensing(_devices(), WindowFramer(), ClientConfig(fake_mec.target, **FAST))
    records = report.devices[0].requests
    assert [(r.status, r.attempts) for r in records] == [
        ("INVALID_ARGUMENT", 1),
        (OK, 1),
        (OK, 1),
    ]
    assert report.totals()["errors"] == {"INVALID_ARGUMENT": 1}


@pytest.mark.parametrize("dtype", list(PayloadDtype))
def test_only_feature_tensors_cross_the_wire(fake_mec: FakeMec, dtype: PayloadDtype) -> None:
    devices = _devices(seconds=4.0)
    framer = WindowFramer()
    run_sensing(devices, framer, ClientConfig(fake_mec.target, dtype=dtype, **FAST))
    track = devices[0].track
    allowed = {f.name for f in pb.FeatureWindow.DESCRIPTOR.fields} - {"model", "scale"}
    for raw, span in zip(fake_mec.received, framer.spans(track), strict=True):
        window = pb.FeatureWindow.FromString(raw)
        window.DiscardUnknownFields()
        assert len(window.SerializeToString()) == len(raw)  # nothing the schema does not name
        assert {f.name for f, _ in window.ListFields()} <= allowed | {"scale"}
        assert len(window.tensor) == DEFAULT_FEATURE_CONFIG.n_mels * 188 * np.dtype(dtype).itemsize
        assert len(raw) < len(window.tensor) + 256  # no room for 48,000 samples of audio
        decoded = decode_window(window, DEFAULT_FEATURE_CONFIG).features
        expected = framer.frame(track, span).features
        assert expected is not None
        np.testing.assert_allclose(decoded, expected, atol=1 / 127)
        if dtype is PayloadDtype.FLOAT32:
            np.testing.assert_array_equal(decoded, expected)
        samples = track.audio[round(span.start_s * 16000) : round(span.end_s * 16000)]
        assert decoded.size != samples.size


def test_gated_windows_leave_gaps_in_the_sequences_the_server_sees(fake_mec: FakeMec) -> None:
    devices = _devices(seconds=30.0, scene="quiet-home")  # ambient at -62 dBFS, a few events
    report = run_sensing(
        devices, WindowFramer(gate_dbfs=-55.0), ClientConfig(fake_mec.target, **FAST)
    )
    metrics = report.devices[0]
    seen = [w.sequence for w in fake_mec.windows()]
    assert metrics.windows_framed == 28
    assert 0 < metrics.windows_skipped < 28
    assert len(seen) == 28 - metrics.windows_skipped
    assert seen == sorted(seen)
    assert set(seen) < set(range(28))
    assert metrics.bytes_saved == metrics.windows_skipped * 96256


def test_link_delays_are_applied_and_recorded(fake_mec: FakeMec) -> None:
    slow = LinkProfile("test", "20 ms each way", 20.0, 0.0, 1e6, 1e6, 0.0, 0.0)
    devices = [dataclasses.replace(d, profile=slow) for d in _devices(seconds=4.0)]
    report = run_sensing(devices, WindowFramer(), ClientConfig(fake_mec.target, **FAST))
    for record in report.devices[0].requests:
        assert record.uplink_ms == pytest.approx(20.0, abs=0.5)
        assert record.downlink_ms == pytest.approx(20.0, abs=0.5)
        assert record.latency_ms is not None
        assert record.latency_ms >= 40.0
    assert report.by_profile()["test"]["uplink_ms"]["p50"] == pytest.approx(20.0, abs=0.5)


def test_lossy_link_records_retransmissions(tmp_path: Path) -> None:
    lossy = LinkProfile("lossy", "every other send lost", 1.0, 0.0, 1e6, 1e6, 0.5, 5.0)
    devices = _devices(seconds=3.0)
    framer = WindowFramer()
    window = framer.frame(devices[0].track, framer.spans(devices[0].track)[0])
    assert window.features is not None
    device = dataclasses.replace(devices[0], profile=lossy)
    log = SentLog(tmp_path / "sent.jsonl")
    session = DeviceSession(device, None, framer, ClientConfig(), log)  # encode() needs no stub
    items = [Pending(window, 0.0) for _ in range(50)]
    delays = [session.encode(item)[1] for item in items]
    assert sum(d.retransmissions for d in delays) > 0
    for item, delay in zip(items, delays, strict=True):
        assert item.uplink_ms == pytest.approx(1.0 + 5.0 * delay.retransmissions, abs=0.01)
        assert item.retransmissions == delay.retransmissions


def test_stream_mode_answers_every_window(fake_mec: FakeMec) -> None:
    config = ClientConfig(fake_mec.target, stream=True, **FAST)
    report = run_sensing(_devices(2), WindowFramer(), config)
    assert report.totals()["answers"] == 6
    for device in report.devices:
        assert [(r.sequence, r.status) for r in device.requests] == [(i, OK) for i in range(3)]
        assert all(r.type == "negative" for r in device.requests)


def test_stream_resends_unanswered_windows_after_unavailable(fake_mec: FakeMec) -> None:
    fake_mec.fail_first = 1  # the first stream breaks after answering one window
    config = ClientConfig(fake_mec.target, stream=True, **FAST)
    report = run_sensing(_devices(seconds=6.0), WindowFramer(), config)
    records = report.devices[0].requests
    assert [(r.sequence, r.status) for r in records] == [(i, OK) for i in range(4)]
    assert report.totals()["errors"] == {}
    assert fake_mec.calls == 2  # the broken stream and the one that finished the job


def test_stream_records_a_refused_window_from_its_error_answer_and_goes_on(
    fake_mec: FakeMec,
) -> None:
    fake_mec.refuse_sequence = 1
    config = ClientConfig(fake_mec.target, stream=True, **FAST)
    report = run_sensing(_devices(seconds=6.0), WindowFramer(), config)
    records = report.devices[0].requests
    assert [(r.sequence, r.status) for r in records] == [
        (0, OK),
        (1, "INVALID_ARGUMENT"),
        (2, OK),
        (3, OK),
    ]
    assert records[1].detail == "tensor: no"
    assert fake_mec.calls == 1  # one stream: nothing was sent twice
    assert len(fake_mec.received) == 3


def test_stream_ended_by_an_older_server_records_the_named_window_and_sends_the_rest_again(
    fake_mec: FakeMec,
) -> None:
    fake_mec.end_at_sequence = 1
    config = ClientConfig(fake_mec.target, stream=True, **FAST)
    report = run_sensing(_devices(seconds=6.0), WindowFramer(), config)
    records = report.devices[0].requests
    assert [(r.sequence, r.status) for r in records] == [
        (0, OK),
        (1, "INVALID_ARGUMENT"),
        (2, OK),
        (3, OK),
    ]
    assert records[1].detail == "window sequence 1: no"


def test_realtime_mode_paces_windows_at_the_hop(fake_mec: FakeMec) -> None:
    devices = _devices(seconds=3.5)
    started = time.time()
    report = run_sensing(
        devices, WindowFramer(hop_s=0.25), ClientConfig(fake_mec.target, INSECURE, realtime=True)
    )
    captured = [w.captured_at.ToMicroseconds() / 1e6 for w in fake_mec.windows()]
    assert len(captured) == 3
    assert np.diff(captured) == pytest.approx([0.25, 0.25], abs=1e-3)
    assert 3.0 <= captured[0] - started <= 3.0 + 0.25 + 1.0  # + a phase below one hop + set-up
    assert report.wall_s >= 3.0
    sent = [w.sent_at.ToMicroseconds() / 1e6 for w in fake_mec.windows()]
    assert all(s >= c for s, c in zip(sent, captured, strict=True))


def test_unreachable_target_fails_clearly() -> None:
    config = ClientConfig(
        f"127.0.0.1:{free_port()}", INSECURE, connect_timeout_s=0.5, realtime=False
    )
    with pytest.raises(MecUnreachableError, match="cannot reach the MEC"):
        run_sensing(_devices(seconds=3.0), WindowFramer(), config)


def test_reported_agreement_uses_the_scene_truth(fake_mec: FakeMec) -> None:
    fake_mec.detection = "scream"  # always "negative scream"
    config = ClientConfig(fake_mec.target, **FAST)
    report = run_sensing(_devices(seconds=30.0), WindowFramer(), config)
    records = report.records
    truly = [r for r in records if r.truth_detection == "scream"]
    agreement = report.totals()["agreement"]
    assert agreement["detection_windows"] == len(records) == 28
    assert agreement["detection_accuracy"] == pytest.approx(len(truly) / 28)
    assert agreement["type_windows"] == len(truly)
    assert agreement["type_accuracy"] == 1.0  # assault screams are all negative
