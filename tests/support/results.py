"""Result records as the MEC would publish them, for consumers' tests."""

from __future__ import annotations

import time
import uuid

from nser_shared.stream.results import ResultRecord, TaskOutcome


def make_record(
    *,
    device_id: str = "phone-0001",
    sequence: int = 0,
    nr_cell_id: str = "00066c001",
    scream: float = 0.95,
    negative: float | None = 0.9,
    captured_at: float | None = None,
    result_id: str | None = None,
) -> ResultRecord:
    """A record with P(scream) = `scream` and, when given, P(negative) = `negative`."""
    t = time.time() if captured_at is None else captured_at
    detection = TaskOutcome(
        label="scream" if scream >= 0.5 else "non_scream",
        probabilities={"non_scream": 1 - scream, "scream": scream},
    )
    type_ = (
        None
        if negative is None
        else TaskOutcome(
            label="negative" if negative >= 0.5 else "positive",
            probabilities={"positive": 1 - negative, "negative": negative},
        )
    )
    return ResultRecord(
        result_id=result_id or uuid.uuid4().hex,
        device_id=device_id,
        device_kind="phone",
        nr_cell_id=nr_cell_id,
        sequence=sequence,
        model="student",
        model_version="5354b399750c",
        feature_config_id="mel-2a5080d2e107",
        payload_dtype="int8",
        detection=detection,
        type=type_,
        captured_at=t,
        sent_at=t + 0.004,
        received_at=t + 0.008,
        batched_at=t + 0.0082,
        inferred_at=t + 0.010,
        published_at=t + 0.0105,
        queue_us=200,
        inference_us=1800,
        batch_size=1,
    )
