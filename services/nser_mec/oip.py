"""The Open Inference Protocol adapter (KServe v2 gRPC, `inference.GRPCInferenceService`) over
the same serving core as nser.v1 (core.py), so that stock clients (tritonclient, KServe's)
classify windows with the same checks, mutual TLS, rate limits, publication and metrics.

A request carries one window: the input tensor `features` of shape [1, 1, mels, frames], FP32,
FP16 or INT8 (then a `scale` parameter, on the request or the tensor), as raw little-endian
bytes or typed contents; and the device's metadata in the request's parameters (`PARAMETERS`).
It becomes a nser.v1 FeatureWindow and goes through the very same `decode_window`. The answer's
outputs are `detection` and, when the cascade ran it, `type` (FP32 [1, 2]: the probabilities of
the task's classes in `TASK_CLASSES` order, named in the output's `classes` parameter); its
parameters carry the labels, the result id and the server timings.
"""

from __future__ import annotations

import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import grpc
import numpy as np

from nser.oip.v2 import open_inference_pb2 as oip
from nser.oip.v2 import open_inference_pb2_grpc as oip_grpc
from nser.v1 import mec_inference_pb2 as pb
from nser_mec.core import ServingCore
from nser_mec.grpc_common import DeviceIdentity, retry_metadata, status_for
from nser_mec.metrics import MecMetrics
from nser_shared.errors import InvalidFeatureWindowError, NserError
from nser_shared.stream.results import ResultRecord, TaskOutcome
from nser_shared.wire.device_ids import DeviceKind
from nser_shared.wire.labels import TASK_CLASSES, Task
from nser_shared.wire.windows import (
    PayloadDtype,
    decode_window,
    timestamp,
    wire_device_kind,
    wire_dtype,
)

SERVICE = oip.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
SERVER_NAME = "nser-mec"
INPUT = "features"
# The OIP datatype of each payload dtype, and its little-endian element type.
DATATYPES: dict[str, tuple[PayloadDtype, str]] = {
    "FP32": (PayloadDtype.FLOAT32, "<f4"),
    "FP16": (PayloadDtype.FLOAT16, "<f2"),
    "INT8": (PayloadDtype.INT8, "i1"),
}
# The request parameters that carry a window's metadata: name -> what it holds.
PARAMETERS = {
    "device_id": "the sending device's id (string)",
    "device_kind": "phone, watch or assistant (string)",
    "nr_cell_id": "the NR cell, 9 hex digits (string)",
    "sequence": "the window's sequence number (int64)",
    "captured_at_us": "unix microseconds of the window's last sample (int64)",
    "sent_at_us": "unix microseconds when the device sent it (int64)",
    "feature_config_id": "the front-end configuration that made the features (string)",
}


def _invalid(message: str) -> InvalidFeatureWindowError:
    return InvalidFeatureWindowError(message)


def _value(parameter: oip.InferParameter) -> Any:
    choice = parameter.WhichOneof("parameter_choice")
    return None if choice is None else getattr(parameter, choice)


def _string(params: Any, name: str) -> str:
    if name not in params or params[name].WhichOneof("parameter_choice") != "string_param":
        raise _invalid(f"parameter {name!r} ({PARAMETERS[name]}) is missing or not a string")
    return str(params[name].string_param)


def _integer(params: Any, name: str) -> int:
    choice = params[name].WhichOneof("parameter_choice") if name in params else None
    if choice not in ("int64_param", "uint64_param"):
        raise _invalid(f"parameter {name!r} ({PARAMETERS[name]}) is missing or not an integer")
    return int(_value(params[name]))


def _scale(request: oip.ModelInferRequest, tensor: Any) -> float:
    """The int8 scale: the tensor's `scale` parameter, else the request's; 0 when absent."""
    for params in (tensor.parameters, request.parameters):
        if "scale" in params:
            value = _value(params["scale"])
            try:
                return float(value)
            except (TypeError, ValueError):
                raise _invalid(f"parameter 'scale' {value!r} is not a number") from None
    return 0.0


def _tensor_bytes(request: oip.ModelInferRequest, tensor: Any, element: str) -> bytes:
    if request.raw_input_contents:
        if len(request.raw_input_contents) != len(request.inputs):
            raise _invalid("raw_input_contents must hold one entry per input")
        return bytes(request.raw_input_contents[0])
    contents = tensor.contents
    if element == "<f4":
        return np.asarray(contents.fp32_contents, dtype="<f4").tobytes()
    if element == "i1":
        values = np.asarray(contents.int_contents, dtype=np.int64)
        if values.size and (values.min() < -128 or values.max() > 127):
            raise _invalid("INT8 contents hold values outside [-128, 127]")
        return values.astype("i1").tobytes()
    raise _invalid("FP16 tensors travel only in raw_input_contents")


def to_feature_window(request: oip.ModelInferRequest) -> pb.FeatureWindow:
    """The nser.v1 FeatureWindow an OIP request carries; InvalidFeatureWindowError naming what
    is missing or malformed."""
    if len(request.inputs) != 1 or request.inputs[0].name != INPUT:
        names = [t.name for t in request.inputs]
        raise _invalid(f"a request holds exactly one input, {INPUT!r}; got {names}")
    tensor = request.inputs[0]
    if tensor.datatype not in DATATYPES:
        raise _invalid(f"datatype {tensor.datatype!r} is not one of {', '.join(DATATYPES)}")
    dtype, element = DATATYPES[tensor.datatype]
    shape = list(tensor.shape)
    if len(shape) != 4 or shape[0] != 1 or not all(0 < n < 2**31 for n in shape):
        raise _invalid(f"shape {shape} is not [1, 1, mels, frames]: one window per request")
    params = request.parameters
    kind_name = _string(params, "device_kind")
    try:
        kind = DeviceKind(kind_name)
    except ValueError:
        raise _invalid(
            f"device_kind {kind_name[:20]!r} is not one of phone, watch, assistant"
        ) from None
    captured_at, sent_at = pb.FeatureWindow().captured_at, pb.FeatureWindow().sent_at
    captured_at.FromMicroseconds(_integer(params, "captured_at_us"))
    sent_at.FromMicroseconds(_integer(params, "sent_at_us"))
    sequence = _integer(params, "sequence")
    if sequence < 0:
        raise _invalid(f"sequence {sequence} must be >= 0")
    return pb.FeatureWindow(
        device_id=_string(params, "device_id"),
        device_kind=wire_device_kind(kind),  # type: ignore[arg-type]  # enum values are ints
        nr_cell_id=_string(params, "nr_cell_id"),
        sequence=sequence,
        captured_at=captured_at,
        sent_at=sent_at,
        feature_config_id=_string(params, "feature_config_id"),
        shape=[int(n) for n in shape[1:]],
        dtype=wire_dtype(dtype),  # type: ignore[arg-type]
        scale=_scale(request, tensor),
        tensor=_tensor_bytes(request, tensor, element),
        model=request.model_name,
    )


def to_infer_request(window: pb.FeatureWindow, request_id: str = "") -> oip.ModelInferRequest:
    """The OIP request that carries the nser.v1 `window` (what a device or a load generator
    speaking the Open Inference Protocol sends); `to_feature_window` reads it back."""
    datatype = next(
        name for name, (dtype, _) in DATATYPES.items() if wire_dtype(dtype) == window.dtype
    )
    request = oip.ModelInferRequest(model_name=window.model, id=request_id)
    tensor = request.inputs.add(name=INPUT, datatype=datatype, shape=[1, *window.shape])
    if window.scale:
        tensor.parameters["scale"].double_param = window.scale
    request.raw_input_contents.append(window.tensor)
    kind = next(k for k in DeviceKind if wire_device_kind(k) == window.device_kind)
    p = request.parameters
    p["device_id"].string_param = window.device_id
    p["device_kind"].string_param = kind.value
    p["nr_cell_id"].string_param = window.nr_cell_id
    p["sequence"].int64_param = window.sequence
    p["captured_at_us"].int64_param = window.captured_at.ToMicroseconds()
    p["sent_at_us"].int64_param = window.sent_at.ToMicroseconds()
    p["feature_config_id"].string_param = window.feature_config_id
    return request


def _output(task: Task, outcome: TaskOutcome) -> tuple[Any, bytes]:
    classes = TASK_CLASSES[task]
    probabilities = np.asarray([outcome.probabilities[c] for c in classes], dtype="<f4")
    tensor = oip.ModelInferResponse.InferOutputTensor(
        name=task.value, datatype="FP32", shape=[1, len(classes)]
    )
    tensor.parameters["classes"].string_param = ",".join(classes)
    tensor.parameters["label"].string_param = outcome.label
    return tensor, probabilities.tobytes()


def to_response(request: oip.ModelInferRequest, record: ResultRecord) -> oip.ModelInferResponse:
    response = oip.ModelInferResponse(
        model_name=record.model, model_version=record.model_version, id=request.id
    )
    outputs = [_output(Task.DETECTION, record.detection)]
    if record.type is not None:
        outputs.append(_output(Task.TYPE, record.type))
    for tensor, raw in outputs:
        response.outputs.append(tensor)
        response.raw_output_contents.append(raw)
    p = response.parameters
    p["result_id"].string_param = record.result_id
    p["device_id"].string_param = record.device_id
    p["sequence"].int64_param = record.sequence
    p["received_at_us"].int64_param = timestamp(record.received_at).ToMicroseconds()
    p["queue_us"].int64_param = record.queue_us
    p["inference_us"].int64_param = record.inference_us
    p["batch_size"].int64_param = record.batch_size
    return response


def _server_version() -> str:
    try:
        return version("nser")
    except PackageNotFoundError:
        return "unknown"


class OipServicer(oip_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
    def __init__(self, core: ServingCore, metrics: MecMetrics, identity: DeviceIdentity) -> None:
        self.core = core
        self.metrics = metrics
        self.identity = identity

    async def ServerLive(  # noqa: N802 (gRPC method name)
        self, request: oip.ServerLiveRequest, context: grpc.aio.ServicerContext
    ) -> oip.ServerLiveResponse:
        return oip.ServerLiveResponse(live=True)

    async def ServerReady(  # noqa: N802
        self, request: oip.ServerReadyRequest, context: grpc.aio.ServicerContext
    ) -> oip.ServerReadyResponse:
        return oip.ServerReadyResponse(ready=self.core.ready)

    async def ModelReady(  # noqa: N802
        self, request: oip.ModelReadyRequest, context: grpc.aio.ServicerContext
    ) -> oip.ModelReadyResponse:
        return oip.ModelReadyResponse(ready=request.name in self.core.served_models())

    async def ServerMetadata(  # noqa: N802
        self, request: oip.ServerMetadataRequest, context: grpc.aio.ServicerContext
    ) -> oip.ServerMetadataResponse:
        return oip.ServerMetadataResponse(name=SERVER_NAME, version=_server_version())

    async def ModelMetadata(  # noqa: N802
        self, request: oip.ModelMetadataRequest, context: grpc.aio.ServicerContext
    ) -> oip.ModelMetadataResponse:
        models = self.core.served_models()
        if request.name not in models:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"model {request.name!r} is not served here; served: {', '.join(models)}",
            )
        shape = [1, *self.core.feature_config.shape]
        tensor = oip.ModelMetadataResponse.TensorMetadata
        return oip.ModelMetadataResponse(
            name=request.name,
            versions=[models[request.name]],
            platform="nser_cascade",
            inputs=[tensor(name=INPUT, datatype=dt, shape=shape) for dt in DATATYPES],
            outputs=[
                tensor(name=task.value, datatype="FP32", shape=[1, len(TASK_CLASSES[task])])
                for task in Task
            ],
        )

    async def ModelInfer(  # noqa: N802
        self, request: oip.ModelInferRequest, context: grpc.aio.ServicerContext
    ) -> oip.ModelInferResponse:
        received_mono, received_at = time.perf_counter(), time.time()
        label = self.core.model_label(request.model_name)
        try:
            window = to_feature_window(request)
            self.identity.check(window.device_id, self.identity.peer(context))
            decoded = decode_window(window, self.core.feature_config, now=received_at)
            record = await self.core.classify(decoded, received_mono, received_at)
        except NserError as exc:
            self.metrics.requests.labels(label, status_for(exc).name).inc()
            await context.abort(status_for(exc), str(exc), retry_metadata(exc))
            raise  # unreachable: abort raises
        self.metrics.requests.labels(record.model, grpc.StatusCode.OK.name).inc()
        self.metrics.request_seconds.labels(record.model).observe(
            time.perf_counter() - received_mono
        )
        return to_response(request, record)


def add_to_server(servicer: OipServicer, server: grpc.aio.Server) -> None:
    oip_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
