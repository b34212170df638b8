"""Class labels: the one place that says what the tasks are and what their classes mean."""

from enum import StrEnum


class Task(StrEnum):
    """The two classification tasks of the paper."""

    DETECTION = "detection"  # scream vs not a scream (paper: ASVP-ESD)
    TYPE = "type"  # positive vs negative scream (paper: VIVAE)


class Valence(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


NON_SCREAM = "non_scream"
SCREAM = "scream"

# Class index -> name. Index 1 is the class that matters for alerting in both tasks.
TASK_CLASSES: dict[Task, tuple[str, ...]] = {
    Task.DETECTION: (NON_SCREAM, SCREAM),
    Task.TYPE: (Valence.POSITIVE.value, Valence.NEGATIVE.value),
}
