"""Every malformed window gets a clear status naming the problem, and the server stays healthy."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2
from support.mec import MecProcess, feature_window

from nser.v1 import mec_inference_pb2 as pb
from nser_shared.wire.windows import PayloadDtype

Code = grpc.StatusCode


def _set_tensor(values: np.ndarray) -> Callable[[pb.FeatureWindow], None]:
    def mutate(window: pb.FeatureWindow) -> None:
        window.tensor = values.astype("<f4").tobytes()

    return mutate


def _shape(window: pb.FeatureWindow) -> None:
    window.shape[:] = [1, 128, 187]


def _dtype(window: pb.FeatureWindow) -> None:
    window.dtype = pb.TENSOR_DTYPE_UNSPECIFIED


def _float16_bytes_as_float32(window: pb.FeatureWindow) -> None:
    window.dtype = pb.TENSOR_DTYPE_FLOAT16  # 4 bytes per value arrive where 2 are expected


def _short_tensor(window: pb.FeatureWindow) -> None:
    window.tensor = window.tensor[:-4]


def _int8_without_scale(window: pb.FeatureWindow) -> None:
    window.CopyFrom(feature_window(dtype=PayloadDtype.INT8))
    window.scale = 0.0


def _float_with_scale(window: pb.FeatureWindow) -> None:
    window.scale = 0.5


def _nan(window: pb.FeatureWindow) -> None:
    values = np.zeros((1, 128, 188), dtype=np.float32)
    values[0, 5, 7] = np.nan
    _set_tensor(values)(window)


def _inf(window: pb.FeatureWindow) -> None:
    values = np.zeros((1, 128, 188), dtype=np.float32)
    values[0, 0, 0] = np.inf
    _set_tensor(values)(window)


def _out_of_range(window: pb.FeatureWindow) -> None:
    _set_tensor(np.full((1, 128, 188), 3.5, dtype=np.float32))(window)


def _raw_audio_in_tensor(window: pb.FeatureWindow) -> None:
    window.tensor = np.zeros(48000, dtype="<f4").tobytes()  # 3 s of 16 kHz audio samples


def _no_device(window: pb.FeatureWindow) -> None:
    window.device_id = ""


def _bad_device_kind(window: pb.FeatureWindow) -> None:
    window.device_kind = pb.DEVICE_KIND_UNSPECIFIED


def _bad_cell(window: pb.FeatureWindow) -> None:
    window.nr_cell_id = "cell-7"


def _no_capture_time(window: pb.FeatureWindow) -> None:
    window.ClearField("captured_at")


def _negative_nanos(window: pb.FeatureWindow) -> None:
    window.captured_at.nanos = -1  # found by tests/reliability/test_fuzz_grpc.py


def _sent_after_year_9999(window: pb.FeatureWindow) -> None:
    window.sent_at.seconds = 253_402_300_800


def _captured_in_1970(window: pb.FeatureWindow) -> None:
    window.captured_at.seconds, window.sent_at.seconds = 1, 2  # a clock never set


def _sent_far_ahead(window: pb.FeatureWindow) -> None:
    window.sent_at.seconds += 3600  # an hour ahead of the server's clock


def _captured_after_sent(window: pb.FeatureWindow) -> None:
    window.captured_at.seconds = window.sent_at.seconds + 60


def _held_a_day(window: pb.FeatureWindow) -> None:
    window.captured_at.CopyFrom(window.sent_at)  # one window moved the mean end-to-end
    window.captured_at.seconds -= 86_400  # latency to hours before this was refused


def _malformed_config_id(window: pb.FeatureWindow) -> None:
    window.feature_config_id = "mfcc-40"


def _other_config(window: pb.FeatureWindow) -> None:
    window.feature_config_id = "mel-000000000000"


def _unknown_model(window: pb.FeatureWindow) -> None:
    window.model = "resnet152"


BAD_WINDOWS = [
    pytest.param(_shape, Code.INVALID_ARGUMENT, "shape [1, 128, 187]", id="wrong-shape"),
    pytest.param(_dtype, Code.INVALID_ARGUMENT, "dtype", id="unspecified-dtype"),
    pytest.param(_float16_bytes_as_float32, Code.INVALID_ARGUMENT, "needs 48128", id="dtype-len"),
    pytest.param(_short_tensor, Code.INVALID_ARGUMENT, "96252 bytes", id="byte-length"),
    pytest.param(_int8_without_scale, Code.INVALID_ARGUMENT, "scale", id="int8-no-scale"),
    pytest.param(_float_with_scale, Code.INVALID_ARGUMENT, "scale 0.5", id="float-scale"),
    pytest.param(_nan, Code.INVALID_ARGUMENT, "NaN or Inf", id="nan"),
    pytest.param(_inf, Code.INVALID_ARGUMENT, "NaN or Inf", id="inf"),
    pytest.param(_out_of_range, Code.INVALID_ARGUMENT, "outside the front end", id="range"),
    pytest.param(_raw_audio_in_tensor, Code.INVALID_ARGUMENT, "192000 bytes", id="raw-audio"),
    pytest.param(_no_device, Code.INVALID_ARGUMENT, "device_id is empty", id="no-device"),
    pytest.param(_bad_device_kind, Code.INVALID_ARGUMENT, "device_kind", id="device-kind"),
    pytest.param(_bad_cell, Code.INVALID_ARGUMENT, "nr_cell_id", id="cell-id"),
    pytest.param(_no_capture_time, Code.INVALID_ARGUMENT, "captured_at is missing", id="time"),
    pytest.param(_negative_nanos, Code.INVALID_ARGUMENT, "captured_at is not a valid", id="nanos"),
    pytest.param(_sent_after_year_9999, Code.INVALID_ARGUMENT, "sent_at is not a", id="y10k"),
    pytest.param(_captured_in_1970, Code.INVALID_ARGUMENT, "from this server's clock", id="1970"),
    pytest.param(_sent_far_ahead, Code.INVALID_ARGUMENT, "+3600 s from this server", id="ahead"),
    pytest.param(_captured_after_sent, Code.INVALID_ARGUMENT, "s after sent_at", id="order"),
    pytest.param(_held_a_day, Code.INVALID_ARGUMENT, "86400 s before sent_at", id="held"),
    pytest.param(_malformed_config_id, Code.INVALID_ARGUMENT, "feature_config_id", id="cfg-id"),
    pytest.param(_other_config, Code.FAILED_PRECONDITION, "mel-000000000000", id="other-cfg"),
    pytest.param(_unknown_model, Code.NOT_FOUND, "resnet152", id="unknown-model"),
]


@pytest.mark.parametrize(("mutate", "code", "names"), BAD_WINDOWS)
def test_classify_refuses_bad_window_with_clear_status(
    mec: MecProcess, mutate: Callable[[pb.FeatureWindow], None], code: Code, names: str
) -> None:
    window = feature_window()
    mutate(window)
    with pytest.raises(grpc.RpcError) as caught:
        mec.stub.Classify(window, timeout=10)
    assert caught.value.code() == code
    assert names in caught.value.details()
    # The server stays healthy and keeps answering good windows.
    assert mec.health() == health_pb2.HealthCheckResponse.SERVING
    assert mec.stub.Classify(feature_window(), timeout=10).detection.label


def test_classify_refuses_oversize_message(mec: MecProcess) -> None:
    window = feature_window()
    window.tensor = bytes(300 * 1024)  # above the 256 KiB limit
    with pytest.raises(grpc.RpcError) as caught:
        mec.stub.Classify(window, timeout=10)
    assert caught.value.code() == Code.RESOURCE_EXHAUSTED
    assert mec.stub.Classify(feature_window(), timeout=10).detection.label


def test_stream_answers_a_bad_window_with_its_error_and_goes_on(mec: MecProcess) -> None:
    good = [feature_window(sequence=i) for i in range(3)]
    bad = feature_window(sequence=3)
    bad.tensor = bad.tensor[:100]
    later = [feature_window(sequence=i) for i in range(4, 20)]
    answers = {
        a.sequence: a for a in mec.stub.ClassifyStream(iter([*good, bad, *later]), timeout=20)
    }
    assert sorted(answers) == list(range(20))  # and the stream ended OK
    refused = answers[3]
    assert refused.HasField("error")
    assert not refused.HasField("detection")
    assert refused.error.code == Code.INVALID_ARGUMENT.value[0]
    assert "tensor" in refused.error.message
    assert refused.device_id == "phone-0001"
    assert not refused.result_id
    for sequence, answer in answers.items():
        if sequence != 3:
            assert not answer.HasField("error")
            assert answer.detection.label
            assert answer.result_id


def test_stream_answers_garbage_with_an_error_at_sequence_0(mec: MecProcess) -> None:
    raw = mec.channel.stream_stream("/nser.v1.MecInference/ClassifyStream")  # bytes both ways
    good = feature_window(sequence=7).SerializeToString()
    answers = [pb.Classification.FromString(b) for b in raw(iter([b"\xff\xff\xff", good]))]
    by_sequence = {a.sequence: a for a in answers}
    assert sorted(by_sequence) == [0, 7]
    assert by_sequence[0].error.code == Code.INVALID_ARGUMENT.value[0]
    assert "not a nser.v1.FeatureWindow" in by_sequence[0].error.message
    assert by_sequence[0].device_id == ""
    assert by_sequence[7].detection.label


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff", b"\x0a\x80", b"\x12\x05abc"])
def test_bytes_that_are_not_a_window_are_invalid_argument(mec: MecProcess, garbage: bytes) -> None:
    raw = mec.channel.unary_unary("/nser.v1.MecInference/Classify")  # bytes in, bytes out
    with pytest.raises(grpc.RpcError) as caught:
        raw(garbage, timeout=10)
    assert caught.value.code() == Code.INVALID_ARGUMENT
    assert "not a nser.v1.FeatureWindow" in caught.value.details()
    assert mec.stub.Classify(feature_window(), timeout=10).detection.label
