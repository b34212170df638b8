"""End to end: simulated devices play a scripted scene to the real MEC service, whose results
land in a real Redis stream with the devices' metadata and ordered stage timestamps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.mec import MecProcess
from support.processes import RedisChild, free_port, wait_until

from nser_models.served import SERVED_MODEL
from nser_sensing.client import ClientConfig, run_sensing
from nser_sensing.devices import WindowFramer, build_devices
from nser_sensing.transport import INSECURE
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.stream.results import RESULTS_STREAM, STAGES, ResultRecord
from nser_shared.wire.windows import PayloadDtype


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisChild, MecProcess]]:
    workdir = tmp_path_factory.mktemp("edge")
    redis_server = RedisChild(free_port(), workdir)
    redis_server.start()
    mec = MecProcess(redis_server.url, workdir / "mec.log").wait_serving()
    yield redis_server, mec
    mec.terminate()
    redis_server.stop()


def _stream(redis_server: RedisChild) -> list[ResultRecord]:
    entries = redis_server.client().xrange(RESULTS_STREAM)
    return [ResultRecord.from_fields(fields) for _, fields in entries]


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_assault_scene_results_land_in_the_stream(
    network: tuple[RedisChild, MecProcess], stream: bool
) -> None:
    redis_server, mec = network
    redis_server.client().delete(RESULTS_STREAM)
    devices = build_devices(4, scene="assault", seconds=8.0, cells=2, seed=3)
    report = run_sensing(
        devices,
        WindowFramer(hop_s=1.0),
        ClientConfig(mec.address, INSECURE, dtype=PayloadDtype.INT8, stream=stream, realtime=False),
    )
    answered = [r for r in report.records if r.status == "OK"]
    assert len(answered) == len(report.records) == 4 * 6  # 8 s, 3 s windows, 1 s hop

    wait_until(lambda: len(_stream(redis_server)) == len(answered), 10.0, "every result")
    records = {(r.device_id, r.sequence): r for r in _stream(redis_server)}
    assert len(records) == len(answered)
    by_device = {d.device_id: d for d in devices}
    for sent in answered:
        record = records[(sent.device_id, sent.sequence)]
        device = by_device[sent.device_id]
        assert record.nr_cell_id == device.nr_cell_id
        assert record.device_kind == device.kind.value
        assert record.feature_config_id == DEFAULT_FEATURE_CONFIG.id
        assert (record.payload_dtype, record.model) == ("int8", SERVED_MODEL)
        assert record.detection.label == sent.detection
        assert (record.type.label if record.type else None) == sent.type
        stamps = [getattr(record, stage) for stage in STAGES]
        assert stamps == sorted(stamps), f"{sent.device_id}/{sent.sequence}: {stamps}"
    # The scene's ground truth holds negative screams, and the student finds some of them.
    assert any(r.truth_type == "negative" for r in answered)
    assert any(r.detection == "scream" and r.type == "negative" for r in answered)


def test_quiet_home_is_mostly_classified_as_no_scream(
    network: tuple[RedisChild, MecProcess], tmp_path: Path
) -> None:
    _, mec = network
    devices = build_devices(3, scene="quiet-home", seconds=10.0, seed=1)
    report = run_sensing(
        devices, WindowFramer(hop_s=1.0), ClientConfig(mec.address, INSECURE, realtime=False)
    )
    labels = [r.detection for r in report.records]
    assert all(r.truth_detection == "non_scream" for r in report.records)
    assert labels.count("non_scream") >= 0.8 * len(labels)
