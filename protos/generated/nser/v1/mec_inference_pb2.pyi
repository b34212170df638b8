import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeviceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_KIND_UNSPECIFIED: _ClassVar[DeviceKind]
    DEVICE_KIND_PHONE: _ClassVar[DeviceKind]
    DEVICE_KIND_WATCH: _ClassVar[DeviceKind]
    DEVICE_KIND_ASSISTANT: _ClassVar[DeviceKind]

class TensorDtype(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TENSOR_DTYPE_UNSPECIFIED: _ClassVar[TensorDtype]
    TENSOR_DTYPE_FLOAT32: _ClassVar[TensorDtype]
    TENSOR_DTYPE_FLOAT16: _ClassVar[TensorDtype]
    TENSOR_DTYPE_INT8: _ClassVar[TensorDtype]
DEVICE_KIND_UNSPECIFIED: DeviceKind
DEVICE_KIND_PHONE: DeviceKind
DEVICE_KIND_WATCH: DeviceKind
DEVICE_KIND_ASSISTANT: DeviceKind
TENSOR_DTYPE_UNSPECIFIED: TensorDtype
TENSOR_DTYPE_FLOAT32: TensorDtype
TENSOR_DTYPE_FLOAT16: TensorDtype
TENSOR_DTYPE_INT8: TensorDtype

class FeatureWindow(_message.Message):
    __slots__ = ("device_id", "device_kind", "nr_cell_id", "sequence", "captured_at", "sent_at", "feature_config_id", "shape", "dtype", "scale", "tensor", "model")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_KIND_FIELD_NUMBER: _ClassVar[int]
    NR_CELL_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    FEATURE_CONFIG_ID_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    device_kind: DeviceKind
    nr_cell_id: str
    sequence: int
    captured_at: _timestamp_pb2.Timestamp
    sent_at: _timestamp_pb2.Timestamp
    feature_config_id: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: TensorDtype
    scale: float
    tensor: bytes
    model: str
    def __init__(self, device_id: _Optional[str] = ..., device_kind: _Optional[_Union[DeviceKind, str]] = ..., nr_cell_id: _Optional[str] = ..., sequence: _Optional[int] = ..., captured_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., feature_config_id: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[_Union[TensorDtype, str]] = ..., scale: _Optional[float] = ..., tensor: _Optional[bytes] = ..., model: _Optional[str] = ...) -> None: ...

class Classification(_message.Message):
    __slots__ = ("device_id", "sequence", "model", "model_version", "detection", "type", "timings", "result_id", "error")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DETECTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    sequence: int
    model: str
    model_version: str
    detection: TaskResult
    type: TaskResult
    timings: ServerTimings
    result_id: str
    error: WindowError
    def __init__(self, device_id: _Optional[str] = ..., sequence: _Optional[int] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ..., detection: _Optional[_Union[TaskResult, _Mapping]] = ..., type: _Optional[_Union[TaskResult, _Mapping]] = ..., timings: _Optional[_Union[ServerTimings, _Mapping]] = ..., result_id: _Optional[str] = ..., error: _Optional[_Union[WindowError, _Mapping]] = ...) -> None: ...

class WindowError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class TaskResult(_message.Message):
    __slots__ = ("classes", "probabilities", "label")
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    classes: _containers.RepeatedScalarFieldContainer[str]
    probabilities: _containers.RepeatedScalarFieldContainer[float]
    label: str
    def __init__(self, classes: _Optional[_Iterable[str]] = ..., probabilities: _Optional[_Iterable[float]] = ..., label: _Optional[str] = ...) -> None: ...

class ServerTimings(_message.Message):
    __slots__ = ("received_at", "batched_at", "inferred_at", "queue_us", "inference_us", "batch_size")
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    BATCHED_AT_FIELD_NUMBER: _ClassVar[int]
    INFERRED_AT_FIELD_NUMBER: _ClassVar[int]
    QUEUE_US_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_US_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    received_at: _timestamp_pb2.Timestamp
    batched_at: _timestamp_pb2.Timestamp
    inferred_at: _timestamp_pb2.Timestamp
    queue_us: int
    inference_us: int
    batch_size: int
    def __init__(self, received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., batched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., inferred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., queue_us: _Optional[int] = ..., inference_us: _Optional[int] = ..., batch_size: _Optional[int] = ...) -> None: ...
