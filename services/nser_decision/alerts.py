"""The alert record: what the REST API returns and what Redis stores (as its JSON)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# Legal status transitions; anything else is 409 Conflict.
TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.OPEN: frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED}),
    AlertStatus.ACKNOWLEDGED: frozenset({AlertStatus.RESOLVED}),
    AlertStatus.RESOLVED: frozenset(),
}


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed: logged, counted, shown here
    NO_WEBHOOK = "no_webhook"  # no URL configured for this responder


class ResponderNotice(BaseModel):
    responder: str
    state: DeliveryState
    severity: int = Field(description="severity of the latest notification")
    attempts: int = 0
    last_attempt_at: float | None = None
    delivered_at: float | None = None
    last_error: str | None = None


class WindowRef(BaseModel):
    result_id: str
    sequence: int
    captured_at: float = Field(description="unix seconds, on the device")


class PendingIncident(BaseModel):
    """Scream windows of a device that have not (yet) raised an alert: too little evidence of
    distress (policy.Policy.evidence)."""

    first_window: WindowRef | None  # the first alerting window; None while there is none
    last_captured_at: float  # of the latest scream window
    windows: int  # alerting (negative) windows
    scream_probability: float
    negative_probability: float  # the highest of the alerting windows
    evidence: float = 0.0  # of distress, over its scream windows of either valence


class Alert(BaseModel):
    id: str
    incident_id: str = Field(description="device id and first window: one incident, one alert")
    device_id: str
    device_kind: str
    nr_cell_id: str
    model: str
    model_version: str
    scream_probability: float = Field(description="highest P(scream) over the incident")
    negative_probability: float = Field(description="highest P(negative) over the incident")
    first_window: WindowRef
    last_window: WindowRef
    windows: int = Field(description="negative-scream windows in the incident")
    severity: int = Field(ge=1, le=3)
    status: AlertStatus
    created_at: float
    updated_at: float
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    detection_latency_ms: float = Field(
        description="first window's capture on the device to this alert's creation"
    )
    responders: list[ResponderNotice]


class AlertPage(BaseModel):
    alerts: list[Alert]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: done")
