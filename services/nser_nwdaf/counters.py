"""What one result adds to the bucket counters: the definitions every analytic is built from.

Per cell and per device (`scope_counts`): `n` results; `det:<class>` per detection class;
`type:<class>` per scream type, counted only for windows detected as screams; `untyped` for
screams the cascade did not type; `delay_us`, the capture -> published delay (sum, and maximum).
Per served model (`nf_counts`): `n`; `queue_us` and `inference_us` (sums and maxima);
`busy_us`, the window's share of its batch's inference time (inference_us / batch_size), whose
sum over a bucket is the time the model was busy; `batch`, the sum of batch sizes.

A result counts in the bucket of its capture time (`captured_at`): analytics describe when
something was heard, and a result that arrives late still lands where it belongs.
"""

from __future__ import annotations

import math

from nser_shared.stream.results import ResultRecord
from nser_shared.wire.labels import TASK_CLASSES, Task

N = "n"
UNTYPED = "untyped"
DELAY_US = "delay_us"
QUEUE_US = "queue_us"
INFERENCE_US = "inference_us"
BUSY_US = "busy_us"
BATCH = "batch"

DETECTION_CLASSES = TASK_CLASSES[Task.DETECTION]  # ("non_scream", "scream")
TYPE_CLASSES = TASK_CLASSES[Task.TYPE]  # ("positive", "negative")
NON_SCREAM, SCREAM = DETECTION_CLASSES
NEGATIVE = TYPE_CLASSES[1]


def detection(label: str) -> str:
    return f"det:{label}"


def scream_type(label: str) -> str:
    return f"type:{label}"


def bucket_start(timestamp: float, bucket_seconds: int) -> int:
    return math.floor(timestamp / bucket_seconds) * bucket_seconds


def is_negative_scream(record: ResultRecord) -> bool:
    return record.is_scream and record.type is not None and record.type.label == NEGATIVE


def delay_us(record: ResultRecord) -> int:
    return max(0, round((record.published_at - record.captured_at) * 1e6))


def scope_counts(record: ResultRecord) -> dict[str, int]:
    counts = {N: 1, detection(record.detection.label): 1, DELAY_US: delay_us(record)}
    if record.is_scream:
        if record.type is None:
            counts[UNTYPED] = 1
        else:
            counts[scream_type(record.type.label)] = 1
    return counts


def scope_maxima(record: ResultRecord) -> dict[str, int]:
    return {DELAY_US: delay_us(record)}


def nf_counts(record: ResultRecord) -> dict[str, int]:
    batch = max(1, record.batch_size)
    return {
        N: 1,
        QUEUE_US: max(0, record.queue_us),
        INFERENCE_US: max(0, record.inference_us),
        BUSY_US: max(0, round(record.inference_us / batch)),
        BATCH: batch,
    }


def nf_maxima(record: ResultRecord) -> dict[str, int]:
    return {QUEUE_US: max(0, record.queue_us), INFERENCE_US: max(0, record.inference_us)}
