"""The Open Inference Protocol on a real MEC (`python -m nser_mec`): health and metadata, a
window classified and published exactly as over nser.v1, and bad requests refused with the same
status codes. (tests/services/mec/test_tritonclient.py drives it with the stock client.)"""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest
import redis
from support.mec import MecProcess, feature_window, infer_request, metric_value
from support.processes import RedisChild

from nser.oip.v2 import open_inference_pb2 as oip
from nser.oip.v2 import open_inference_pb2_grpc as oip_grpc
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.stream.results import RESULTS_STREAM, ResultRecord
from nser_shared.wire.labels import TASK_CLASSES, Task
from nser_shared.wire.windows import PayloadDtype


@pytest.fixture(scope="module")
def stub(mec: MecProcess) -> oip_grpc.GRPCInferenceServiceStub:
    return oip_grpc.GRPCInferenceServiceStub(mec.channel)


def test_health_and_metadata_describe_the_served_models(
    stub: oip_grpc.GRPCInferenceServiceStub,
) -> None:
    assert stub.ServerLive(oip.ServerLiveRequest()).live
    assert stub.ServerReady(oip.ServerReadyRequest()).ready
    assert stub.ModelReady(oip.ModelReadyRequest(name="student")).ready
    assert not stub.ModelReady(oip.ModelReadyRequest(name="nope")).ready
    assert stub.ServerMetadata(oip.ServerMetadataRequest()).name == "nser-mec"
    meta = stub.ModelMetadata(oip.ModelMetadataRequest(name="teacher"))
    first = meta.inputs[0]
    assert (first.name, list(first.shape)) == ("features", [1, *DEFAULT_FEATURE_CONFIG.shape])
    assert {t.datatype for t in meta.inputs} == {"FP32", "FP16", "INT8"}
    assert [t.name for t in meta.outputs] == ["detection", "type"]
    with pytest.raises(grpc.RpcError) as missing:
        stub.ModelMetadata(oip.ModelMetadataRequest(name="nope"))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("dtype", list(PayloadDtype))
def test_a_window_is_classified_and_published_as_over_nser_v1(
    stub: oip_grpc.GRPCInferenceServiceStub,
    mec: MecProcess,
    module_redis: RedisChild,
    dtype: PayloadDtype,
) -> None:
    window = feature_window(7, dtype=dtype, model="student", device_id="watch-0042")
    native = mec.stub.Classify(window, timeout=30)
    answer = stub.ModelInfer(infer_request(window), timeout=30)
    assert (answer.model_name, answer.id) == ("student", "req-1")
    # The same window over either protocol is the same result: one id, the same probabilities.
    assert answer.parameters["result_id"].string_param == native.result_id
    detection = np.frombuffer(answer.raw_output_contents[0], dtype="<f4")
    assert answer.outputs[0].name == "detection"
    assert answer.outputs[0].parameters["classes"].string_param == ",".join(
        TASK_CLASSES[Task.DETECTION]
    )
    np.testing.assert_allclose(detection, native.detection.probabilities, atol=1e-6)
    client = redis.Redis.from_url(module_redis.url)
    fields = next(
        f for _, f in client.xrevrange(RESULTS_STREAM, count=50)
        if f[b"result_id"].decode() == native.result_id
    )  # fmt: skip
    record = ResultRecord.from_fields(fields)
    assert (record.device_id, record.sequence) == ("watch-0042", 7)


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"device_id": None}, grpc.StatusCode.INVALID_ARGUMENT, "device_id"),
        ({"device_kind": "toaster"}, grpc.StatusCode.INVALID_ARGUMENT, "device_kind"),
        ({"feature_config_id": "mel-000000000000"}, grpc.StatusCode.FAILED_PRECONDITION, ""),
        ({"sequence": "seven"}, grpc.StatusCode.INVALID_ARGUMENT, "sequence"),
    ],
)
def test_bad_requests_are_refused_with_the_nser_v1_codes(
    stub: oip_grpc.GRPCInferenceServiceStub,
    change: dict[str, object],
    code: grpc.StatusCode,
    words: str,
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        stub.ModelInfer(infer_request(feature_window(1), **change), timeout=30)
    assert refused.value.code() is code
    assert words in (refused.value.details() or "")


def test_a_malformed_tensor_or_an_unknown_model_is_refused(
    stub: oip_grpc.GRPCInferenceServiceStub, mec: MecProcess
) -> None:
    request = infer_request(feature_window(2))
    request.raw_input_contents[0] = request.raw_input_contents[0][:-4]
    with pytest.raises(grpc.RpcError) as short:
        stub.ModelInfer(request, timeout=30)
    assert short.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "bytes" in (short.value.details() or "")
    before = metric_value(mec, "nser_mec_requests_total", model="unknown", code="NOT_FOUND")
    with pytest.raises(grpc.RpcError) as unknown:
        stub.ModelInfer(infer_request(feature_window(3, model="resnet152")), timeout=30)
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    time.sleep(0.1)
    after = metric_value(mec, "nser_mec_requests_total", model="unknown", code="NOT_FOUND")
    assert after == before + 1
