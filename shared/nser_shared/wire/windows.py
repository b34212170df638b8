"""The feature window on the wire: where a mel tensor becomes a `nser.v1.FeatureWindow` on the
device, and where the MEC server turns it back into a tensor it can trust.

Both directions live here so the encoding (dtype, byte order, int8 scale) is written once.
`decode_window` is the server's whole input check: every way a window can be malformed raises
`InvalidFeatureWindowError` (gRPC INVALID_ARGUMENT) with a message that names the problem, and a
window made with another front end raises `FeatureConfigMismatchError` (FAILED_PRECONDITION).
Given the receiver's clock (`now`), it also refuses timestamps no device could have sent
(`MAX_CLOCK_SKEW_S`, `MAX_HOLD_S`): a window from 1970 or 9999, or captured after it was sent,
would otherwise be classified, published and counted in the end-to-end latency.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from google.protobuf.timestamp_pb2 import Timestamp

from nser.v1 import mec_inference_pb2 as pb
from nser_shared.errors import FeatureConfigMismatchError, InvalidFeatureWindowError
from nser_shared.frontend.config import FeatureConfig
from nser_shared.wire.device_ids import DEVICE_ID_RULE, is_device_id
from nser_shared.wire.device_ids import DeviceKind as DeviceKind  # re-exported: its old home

Features = npt.NDArray[np.float32]


class PayloadDtype(StrEnum):
    """Element type of the tensor a device sends."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    INT8 = "int8"


_WIRE_DTYPES: dict[PayloadDtype, tuple[int, np.dtype[np.generic]]] = {
    PayloadDtype.FLOAT32: (pb.TENSOR_DTYPE_FLOAT32, np.dtype("<f4")),
    PayloadDtype.FLOAT16: (pb.TENSOR_DTYPE_FLOAT16, np.dtype("<f2")),
    PayloadDtype.INT8: (pb.TENSOR_DTYPE_INT8, np.dtype("i1")),
}
_DTYPE_BY_WIRE = {wire: (dtype, np_dtype) for dtype, (wire, np_dtype) in _WIRE_DTYPES.items()}
_DEVICE_KINDS: dict[DeviceKind, int] = {
    DeviceKind.PHONE: pb.DEVICE_KIND_PHONE,
    DeviceKind.WATCH: pb.DEVICE_KIND_WATCH,
    DeviceKind.ASSISTANT: pb.DEVICE_KIND_ASSISTANT,
}
_KIND_BY_WIRE = {wire: kind for kind, wire in _DEVICE_KINDS.items()}

# The front end's output range is exactly [-1, 1]; float16 and int8 rounding may overshoot by
# half a step, so the check allows this much before calling a value out of range.
RANGE_TOLERANCE = 1e-2
INT8_SCALE = 1.0 / 127.0
_NR_CELL_ID = re.compile(r"[0-9a-f]{9}")
_FEATURE_CONFIG_ID = re.compile(r"mel-[0-9a-f]{12}")


def payload_bytes(config: FeatureConfig, dtype: PayloadDtype) -> int:
    """Size of the tensor field for one window of `config` in `dtype`."""
    return math.prod(config.shape) * _WIRE_DTYPES[dtype][1].itemsize


def encode_tensor(features: Features, dtype: PayloadDtype) -> tuple[bytes, float]:
    """(1, n_mels, frames) features in [-1, 1] -> (little-endian bytes, int8 scale or 0)."""
    values = np.ascontiguousarray(features, dtype=np.float32)
    if dtype is PayloadDtype.INT8:
        quantised = np.clip(np.rint(values / INT8_SCALE), -127, 127).astype(np.int8)
        return quantised.tobytes(), INT8_SCALE
    return values.astype(_WIRE_DTYPES[dtype][1]).tobytes(), 0.0


def wire_dtype(dtype: PayloadDtype) -> int:
    """The FeatureWindow.dtype value of `dtype`."""
    return _WIRE_DTYPES[dtype][0]


def wire_device_kind(kind: DeviceKind) -> int:
    """The FeatureWindow.device_kind value of `kind`."""
    return _DEVICE_KINDS[kind]


def timestamp(seconds: float) -> Timestamp:
    """Unix time in seconds -> protobuf Timestamp (microsecond precision)."""
    stamp = Timestamp()
    stamp.FromMicroseconds(round(seconds * 1e6))
    return stamp


def encode_window(
    features: Features,
    *,
    config: FeatureConfig,
    dtype: PayloadDtype,
    device_id: str,
    device_kind: DeviceKind,
    nr_cell_id: str,
    sequence: int,
    captured_at: float,
    model: str = "",
) -> pb.FeatureWindow:
    """The FeatureWindow a device sends; `sent_at` is stamped now (call just before sending)."""
    tensor, scale = encode_tensor(features, dtype)
    return pb.FeatureWindow(
        device_id=device_id,
        device_kind=_DEVICE_KINDS[device_kind],  # type: ignore[arg-type]  # enum values are ints
        nr_cell_id=nr_cell_id,
        sequence=sequence,
        captured_at=timestamp(captured_at),
        sent_at=timestamp(time.time()),
        feature_config_id=config.id,
        shape=list(features.shape),
        dtype=_WIRE_DTYPES[dtype][0],  # type: ignore[arg-type]
        scale=scale,
        tensor=tensor,
        model=model,
    )


@dataclass(frozen=True)
class DecodedWindow:
    """A FeatureWindow that passed every check: metadata plus float32 features in [-1, 1]."""

    device_id: str
    device_kind: DeviceKind
    nr_cell_id: str
    sequence: int
    captured_at: float  # unix seconds
    sent_at: float
    feature_config_id: str
    dtype: PayloadDtype
    model: str
    features: Features  # (1, n_mels, frames)


def _invalid(message: str) -> InvalidFeatureWindowError:
    return InvalidFeatureWindowError(message)


# google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31, nanos in [0, 1e9).
_TIMESTAMP_SECONDS = (-62_135_596_800, 253_402_300_799)


def _check_metadata(window: pb.FeatureWindow) -> DeviceKind:
    device_id = window.device_id
    if not device_id:
        raise _invalid("device_id is empty")
    if not is_device_id(device_id):
        raise _invalid(f"device_id {device_id[:40]!r} is not {DEVICE_ID_RULE}")
    kind = _KIND_BY_WIRE.get(window.device_kind)
    if kind is None:
        raise _invalid(f"device_kind {window.device_kind} is unspecified or unknown")
    if not _NR_CELL_ID.fullmatch(window.nr_cell_id):
        raise _invalid(
            f"nr_cell_id {window.nr_cell_id[:20]!r} is not 9 lowercase hexadecimal digits"
        )
    for name in ("captured_at", "sent_at"):
        if not window.HasField(name):
            raise _invalid(f"{name} is missing")
        stamp = getattr(window, name)
        if not (
            0 <= stamp.nanos < 1_000_000_000
            and _TIMESTAMP_SECONDS[0] <= stamp.seconds <= _TIMESTAMP_SECONDS[1]
        ):
            raise _invalid(
                f"{name} is not a valid timestamp (seconds {stamp.seconds}, nanos {stamp.nanos})"
            )
    return kind


def _check_tensor(window: pb.FeatureWindow, config: FeatureConfig) -> tuple[PayloadDtype, Features]:
    shape = tuple(window.shape)
    if shape != config.shape:
        raise _invalid(f"shape {list(shape)} is not {list(config.shape)} for {config.id}")
    wire = _DTYPE_BY_WIRE.get(window.dtype)
    if wire is None:
        raise _invalid(f"dtype {window.dtype} is unspecified or unknown")
    dtype, np_dtype = wire
    scale = window.scale
    if dtype is PayloadDtype.INT8:
        if not (math.isfinite(scale) and scale > 0):
            raise _invalid(f"scale {scale} must be finite and > 0 for int8")
    elif scale != 0:
        raise _invalid(f"scale {scale} must be 0 for {dtype.value}")
    expected = math.prod(shape) * np_dtype.itemsize
    if len(window.tensor) != expected:
        raise _invalid(
            f"tensor has {len(window.tensor)} bytes; shape {list(shape)} of {dtype.value} "
            f"needs {expected}"
        )
    values = np.frombuffer(window.tensor, dtype=np_dtype).astype(np.float32).reshape(shape)
    if dtype is PayloadDtype.INT8:
        values *= np.float32(scale)
    if not np.isfinite(values).all():
        raise _invalid("tensor contains NaN or Inf")
    low, high = float(values.min()), float(values.max())
    if low < -1.0 - RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        raise _invalid(
            f"tensor values span [{low:.3g}, {high:.3g}], outside the front end's [-1, 1]"
        )
    return dtype, np.clip(values, -1.0, 1.0)


# What a receiver accepts of a device's timestamps. Devices of a 5G network keep time to well
# under a millisecond (the network distributes it); these limits are far wider, so that only a
# broken or forged clock is refused, never a device that was slow to send.
MAX_CLOCK_SKEW_S = 300.0  # |sent_at - the receiver's clock|
MAX_HOLD_S = 3600.0  # sent_at - captured_at: a device re-sends unanswered windows after an
# outage, keeping their capture time


def _check_clock(captured_at: float, sent_at: float, now: float) -> None:
    if abs(sent_at - now) > MAX_CLOCK_SKEW_S:
        raise _invalid(
            f"sent_at {sent_at:.3f} is {sent_at - now:+.0f} s from this server's clock "
            f"(at most {MAX_CLOCK_SKEW_S:g} s apart)"
        )
    if captured_at > sent_at:
        raise _invalid(f"captured_at is {captured_at - sent_at:.3f} s after sent_at")
    if sent_at - captured_at > MAX_HOLD_S:
        raise _invalid(
            f"captured_at is {sent_at - captured_at:.0f} s before sent_at "
            f"(a window is held at most {MAX_HOLD_S:g} s)"
        )


def decode_window(
    window: pb.FeatureWindow, config: FeatureConfig, now: float | None = None
) -> DecodedWindow:
    """Check every field of `window` against `config` and return its decoded features; with
    `now` (the receiver's unix time), its timestamps against the clock limits too."""
    kind = _check_metadata(window)
    captured_at = window.captured_at.ToMicroseconds() / 1e6
    sent_at = window.sent_at.ToMicroseconds() / 1e6
    if now is not None:
        _check_clock(captured_at, sent_at, now)
    config_id = window.feature_config_id
    if not _FEATURE_CONFIG_ID.fullmatch(config_id):
        raise _invalid(f"feature_config_id {config_id[:40]!r} is not 'mel-' and 12 hex digits")
    if config_id != config.id:
        raise FeatureConfigMismatchError(
            f"feature_config_id {config_id} is not {config.id}, the configuration the models "
            "were trained on"
        )
    dtype, features = _check_tensor(window, config)
    return DecodedWindow(
        device_id=window.device_id,
        device_kind=kind,
        nr_cell_id=window.nr_cell_id,
        sequence=window.sequence,
        captured_at=captured_at,
        sent_at=sent_at,
        feature_config_id=config_id,
        dtype=dtype,
        model=window.model,
        features=features,
    )
