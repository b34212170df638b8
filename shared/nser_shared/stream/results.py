"""The results stream: the Redis stream the MEC inference service appends one record to for every
classified window, and that the decision and analytics services consume. The stream's name and
the record's schema are defined here and nowhere else.

A record is a flat map of string fields (what XADD stores), readable with a plain `XRANGE`:

    schema            "nser.result/1"
    result_id         server-assigned id, also in the gRPC Classification
    device_id, device_kind, nr_cell_id, sequence
    model, model_version, feature_config_id, payload_dtype
    detection_label   e.g. "scream"; detection: JSON {class: probability}
    type_label        "" when the cascade did not run the type stage; type: JSON or ""
    captured_at, sent_at, received_at, batched_at, inferred_at, published_at
                      unix seconds with microseconds, one per stage, in this order
    queue_us, inference_us, batch_size
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, fields, replace
from typing import Any

from nser_shared.errors import InvalidResultRecordError
from nser_shared.wire.labels import SCREAM, TASK_CLASSES, Task

RESULTS_STREAM = "nser:results"
RESULT_SCHEMA = "nser.result/1"
# XADD ... MAXLEN ~ this: about a day of 20 devices at one window a second, a few hundred MB.
DEFAULT_STREAM_MAXLEN = 2_000_000

STAGES = ("captured_at", "sent_at", "received_at", "batched_at", "inferred_at", "published_at")


@dataclass(frozen=True)
class TaskOutcome:
    label: str
    probabilities: dict[str, float]  # class -> probability, in TASK_CLASSES order


def result_id_for(device_id: str, sequence: int, captured_at: float, model: str) -> str:
    """The id of the result of one window from one model: the same window answered twice (a
    device retrying after the MEC died between publishing and answering) gets the same id, so
    the consumers' done markers apply it once. 128 bits of SHA-256 over what names the window."""
    key = f"{device_id}\x00{sequence}\x00{captured_at!r}\x00{model}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


@dataclass(frozen=True)
class ResultRecord:
    result_id: str
    device_id: str
    device_kind: str
    nr_cell_id: str
    sequence: int
    model: str
    model_version: str
    feature_config_id: str
    payload_dtype: str
    detection: TaskOutcome
    type: TaskOutcome | None  # None when the cascade did not run the type stage
    captured_at: float
    sent_at: float
    received_at: float
    batched_at: float
    inferred_at: float
    published_at: float  # 0 until the publisher stamps it, just before XADD
    queue_us: int
    inference_us: int
    batch_size: int

    @property
    def is_scream(self) -> bool:
        return self.detection.label == SCREAM

    def stamped(self, published_at: float) -> ResultRecord:
        return replace(self, published_at=published_at)

    def to_fields(self) -> dict[str, str]:
        out: dict[str, str] = {"schema": RESULT_SCHEMA}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("detection", "type"):
                out[f"{f.name}_label"] = value.label if value else ""
                out[f.name] = json.dumps(value.probabilities) if value else ""
            elif f.name in STAGES:
                out[f.name] = f"{value:.6f}"
            else:
                out[f.name] = str(value)
        return out

    @classmethod
    def from_fields(cls, raw: dict[Any, Any]) -> ResultRecord:
        """Decode a stream entry (bytes or str keys and values); InvalidResultRecordError if bad."""
        data = {_text(k): _text(v) for k, v in raw.items()}
        if data.get("schema") != RESULT_SCHEMA:
            raise InvalidResultRecordError(
                f"schema {data.get('schema')!r} is not {RESULT_SCHEMA!r}"
            )
        try:
            values: dict[str, Any] = {}
            for f in fields(cls):
                if f.name == "detection":
                    values[f.name] = _outcome(data, Task.DETECTION)
                elif f.name == "type":
                    values[f.name] = _outcome(data, Task.TYPE) if data.get("type_label") else None
                elif f.name in STAGES:
                    values[f.name] = _finite(data[f.name], f.name)
                elif f.name in ("sequence", "queue_us", "inference_us", "batch_size"):
                    values[f.name] = int(data[f.name])
                else:
                    values[f.name] = data[f.name]
        except KeyError as exc:
            raise InvalidResultRecordError(f"field {exc.args[0]!r} is missing") from exc
        except (ValueError, TypeError) as exc:
            raise InvalidResultRecordError(f"malformed field: {exc}") from exc
        if not values["result_id"] or not values["device_id"]:
            raise InvalidResultRecordError("result_id and device_id must not be empty")
        return cls(**values)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _finite(text: str, name: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{name} is not finite")
    return value


def _outcome(data: dict[str, str], task: Task) -> TaskOutcome:
    label = data[f"{task.value}_label"]
    probabilities = json.loads(data[task.value])
    classes = TASK_CLASSES[task]
    if not isinstance(probabilities, dict) or list(probabilities) != list(classes):
        raise ValueError(f"{task.value} probabilities must map {list(classes)} in order")
    if label not in classes:
        raise ValueError(f"{task.value}_label {label!r} is not one of {list(classes)}")
    return TaskOutcome(label=label, probabilities={k: float(v) for k, v in probabilities.items()})
