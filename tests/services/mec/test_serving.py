"""The MEC service classifies windows, publishes each result, and reports health and metrics."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest
import redis
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from support.mec import MecProcess, feature_window
from support.processes import RedisChild, wait_until

from nser_shared.stream.results import RESULTS_STREAM, STAGES, ResultRecord
from nser_shared.wire.windows import PayloadDtype


def _records(client: redis.Redis) -> dict[str, ResultRecord]:
    entries = client.xrange(RESULTS_STREAM)
    return {r.result_id: r for r in (ResultRecord.from_fields(f) for _, f in entries)}


def test_classify_answers_with_probabilities_labels_and_timings(mec: MecProcess) -> None:
    answer = mec.stub.Classify(feature_window(sequence=7), timeout=10)
    assert (answer.device_id, answer.sequence, answer.model) == ("phone-0001", 7, "student")
    assert len(answer.model_version) == 12
    assert list(answer.detection.classes) == ["non_scream", "scream"]
    assert sum(answer.detection.probabilities) == pytest.approx(1.0, abs=1e-5)
    assert answer.detection.label in answer.detection.classes
    # Cascade: the type stage ran exactly when a scream was detected.
    assert answer.HasField("type") == (answer.detection.label == "scream")
    t = answer.timings
    assert t.received_at.ToMicroseconds() <= t.batched_at.ToMicroseconds()
    assert t.batched_at.ToMicroseconds() <= t.inferred_at.ToMicroseconds()
    assert t.batch_size >= 1
    assert t.inference_us > 0


def test_teacher_is_served_by_name_beside_the_student(mec: MecProcess) -> None:
    student = mec.stub.Classify(feature_window(model="student"), timeout=10)
    teacher = mec.stub.Classify(feature_window(model="teacher"), timeout=10)
    assert (student.model, teacher.model) == ("student", "teacher")
    assert student.model_version != teacher.model_version


@pytest.mark.parametrize("dtype", list(PayloadDtype))
def test_every_payload_dtype_is_accepted(mec: MecProcess, dtype: PayloadDtype) -> None:
    reference = mec.stub.Classify(feature_window(seed=3), timeout=10)
    answer = mec.stub.Classify(feature_window(seed=3, dtype=dtype), timeout=10)
    p_ref, p = reference.detection.probabilities[1], answer.detection.probabilities[1]
    assert p == pytest.approx(p_ref, abs=0.05)


def test_every_result_lands_in_the_stream_with_stage_timestamps(
    mec: MecProcess, module_redis: RedisChild
) -> None:
    windows = [feature_window(sequence=i, device_id="watch-0042", seed=i) for i in range(12)]
    answers = list(mec.stub.ClassifyStream(iter(windows), timeout=30))
    assert sorted(a.sequence for a in answers) == list(range(12))
    client = module_redis.client()
    ids = {a.result_id for a in answers}
    wait_until(lambda: ids <= set(_records(client)), 10.0, "results in the stream")
    records = _records(client)
    for answer in answers:
        record = records[answer.result_id]
        assert (record.device_id, record.sequence) == ("watch-0042", answer.sequence)
        assert (record.nr_cell_id, record.device_kind) == ("00066c001", "phone")
        assert record.detection.label == answer.detection.label
        assert (record.type is None) == (not answer.HasField("type"))
        stamps = [getattr(record, stage) for stage in STAGES]
        assert stamps == sorted(stamps), f"stage timestamps out of order: {stamps}"


def test_health_reflection_and_metrics(mec: MecProcess) -> None:
    assert mec.health(service="nser.v1.MecInference") == 1  # SERVING
    services = set(ProtoReflectionDescriptorDatabase(mec.channel).get_services())
    assert {"nser.v1.MecInference", "grpc.health.v1.Health"} <= services
    mec.stub.Classify(feature_window(), timeout=10)
    text = httpx.get(f"http://127.0.0.1:{mec.metrics_port}/metrics", timeout=5).text
    assert 'nser_mec_requests_total{code="OK",model="student"}' in text
    for name in ("queue", "inference", "publish", "request"):
        # Sub-millisecond buckets exist for every latency histogram.
        assert f"nser_mec_{name}_duration_seconds_bucket{{" in text
        assert 'le="0.0005"' in text


def test_full_queue_refuses_with_resource_exhausted(
    module_redis: RedisChild, tmp_path_factory: pytest.TempPathFactory
) -> None:
    log = tmp_path_factory.mktemp("mec-small-queue") / "mec.log"
    server = MecProcess(
        module_redis.url, log, "--models", "teacher", "--max-queue-size", "1",
        "--max-batch-size", "1",
    ).wait_serving()  # fmt: skip
    try:
        window = feature_window(model="teacher")

        def call(_: int) -> tuple[grpc.StatusCode, str]:
            try:
                server.stub.Classify(window, timeout=30)
                return grpc.StatusCode.OK, ""
            except grpc.RpcError as exc:
                return exc.code(), exc.details()

        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(call, range(32)))
        codes = {code for code, _ in outcomes}
        assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
        assert codes <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert all("queue" in details for code, details in outcomes if code != grpc.StatusCode.OK)
        time.sleep(0.5)
        assert server.stub.Classify(window, timeout=30).model == "teacher"
    finally:
        server.terminate()


def test_a_window_answered_twice_keeps_its_result_id(
    mec: MecProcess, module_redis: RedisChild
) -> None:
    """A device that retries after losing an answer gets the same result id, so the consumers'
    done markers apply the result once; another window gets another id."""
    window = feature_window(sequence=4242, device_id="watch-0042")
    first = mec.stub.Classify(window, timeout=10)
    again = mec.stub.Classify(window, timeout=10)
    other = mec.stub.Classify(feature_window(sequence=4243, device_id="watch-0042"), timeout=10)
    assert first.result_id == again.result_id
    assert other.result_id != first.result_id
    client = module_redis.client()
    wait_until(
        lambda: (
            [f[b"result_id"] for _, f in client.xrange(RESULTS_STREAM)].count(
                first.result_id.encode()
            )
            == 2
        ),
        10.0,
        "both copies published",
    )
