"""Applies the policy to each result from the stream, inside the consumer's transaction.

`read` WATCHes and loads the device's latest alert (for alerting windows only); `write` queues
the new or updated alert, the webhook jobs for its responders and the counters. Because the
consumer commits these with the XACK and the result's done marker, an alert exists exactly when
its results are acknowledged, and a redelivered result changes nothing.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass
from typing import Any

from nser_decision.alerts import (
    Alert,
    AlertStatus,
    DeliveryState,
    PendingIncident,
    ResponderNotice,
    WindowRef,
)
from nser_decision.metrics import STAGE_NAMES, DecisionMetrics
from nser_decision.policy import Decision, Policy
from nser_decision.store import (
    ALERTS,
    COUNTS,
    EVENTS,
    EVENTS_MAXLEN,
    FEED,
    OUTBOX,
    alert_key,
    open_key,
    pending_key,
)
from nser_shared.stream.consumer import AfterCommit, Pipeline
from nser_shared.stream.results import STAGES, ResultRecord
from nser_shared.wire.labels import SCREAM, Valence


@dataclass(frozen=True)
class State:
    decision: Decision
    previous: Alert | None = None  # the device's latest alert, for alerting windows
    pending: PendingIncident | None = None  # its unconfirmed incident, if any


class DecisionHandler:
    def __init__(
        self,
        policy: Policy,
        webhooks: dict[str, str],
        metrics: DecisionMetrics,
        events_maxlen: int = EVENTS_MAXLEN,
    ) -> None:
        self.policy = policy
        self.webhooks = webhooks
        self.metrics = metrics
        self.events_maxlen = events_maxlen

    async def read(self, tx: Pipeline, record: ResultRecord) -> State:
        decision = self.policy.decide(record)
        if decision not in (Decision.NEGATIVE_SCREAM, Decision.POSITIVE_SCREAM):
            return State(decision)
        pointer, pending = open_key(record.device_id), pending_key(record.device_id)
        await tx.watch(pointer, pending)
        raw_pending = await tx.get(pending)
        unconfirmed = PendingIncident.model_validate_json(raw_pending) if raw_pending else None
        if decision is Decision.POSITIVE_SCREAM:  # it only weighs on the unconfirmed incident
            return State(decision, None, unconfirmed)
        alert_id = await tx.get(pointer)
        if alert_id is None:
            return State(decision, None, unconfirmed)
        key = alert_key(alert_id.decode() if isinstance(alert_id, bytes) else str(alert_id))
        await tx.watch(key)
        raw = await tx.get(key)
        return State(decision, Alert.model_validate_json(raw) if raw else None, unconfirmed)

    def write(self, tx: Pipeline, record: ResultRecord, state: State) -> AfterCommit | None:
        decided_at = time.time()
        tx.hincrby(COUNTS, state.decision.value, 1)
        change = ""
        if state.decision is not Decision.NEGATIVE_SCREAM:
            if record.is_scream:
                tx.xadd(
                    EVENTS,
                    _event(record, state.decision),
                    maxlen=self.events_maxlen,
                    approximate=True,
                )
            if state.decision is Decision.POSITIVE_SCREAM:
                pending = self._pending(state.pending, record, alerting=False)
                self._keep_pending(tx, record.device_id, pending)
        elif self._continues(state.previous, record):
            assert state.previous is not None
            alert, change = self._update(state.previous, record, decided_at)
            self._store(tx, alert, change)
        else:
            pending = self._pending(state.pending, record, alerting=True)
            if not self.policy.confirms(pending.evidence):
                self._keep_pending(tx, record.device_id, pending)
                change = "unconfirmed"
            else:
                alert, change = self._create(record, pending, decided_at), "created"
                tx.delete(pending_key(record.device_id))
                self._store(tx, alert, change)
        return self._observe(record, state.decision, change, decided_at)

    def _keep_pending(self, tx: Pipeline, device_id: str, pending: PendingIncident) -> None:
        ttl_ms = round((self.policy.incident_gap_s + 60.0) * 1e3)
        tx.set(pending_key(device_id), pending.model_dump_json(), px=ttl_ms)

    def _continues(self, previous: Alert | None, record: ResultRecord) -> bool:
        return (
            previous is not None
            and previous.status is not AlertStatus.RESOLVED
            and self.policy.continues(previous.last_window.captured_at, record.captured_at)
        )

    def _store(self, tx: Pipeline, alert: Alert, change: str) -> None:
        tx.set(alert_key(alert.id), alert.model_dump_json())
        tx.set(open_key(alert.device_id), alert.id)
        if change == "created":
            tx.zadd(ALERTS, {alert.id: alert.created_at})
        if change in ("created", "escalated"):
            for notice in alert.responders:
                if notice.state is DeliveryState.PENDING:
                    tx.xadd(OUTBOX, {"alert_id": alert.id, "responder": notice.responder,
                                     "severity": str(alert.severity)})  # fmt: skip
        tx.publish(FEED, alert.model_dump_json())

    def _pending(
        self, pending: PendingIncident | None, record: ResultRecord, alerting: bool
    ) -> PendingIncident:
        """The device's unconfirmed incident with the scream window `record` added."""
        scream, negative = _probabilities(record)
        window = _window(record) if alerting else None
        if pending is None or not self.policy.continues(
            pending.last_captured_at, record.captured_at
        ):
            pending = PendingIncident(
                first_window=None,
                last_captured_at=record.captured_at,
                windows=0,
                scream_probability=0.0,
                negative_probability=0.0,
            )
        first = pending.first_window
        if window is not None and (first is None or window.captured_at < first.captured_at):
            first = window
        return PendingIncident(
            first_window=first,
            last_captured_at=max(pending.last_captured_at, record.captured_at),
            windows=pending.windows + int(alerting),
            scream_probability=max(pending.scream_probability, scream) if alerting
            else pending.scream_probability,
            negative_probability=max(pending.negative_probability, negative) if alerting
            else pending.negative_probability,
            evidence=self.policy.evidence(pending.evidence, negative),
        )  # fmt: skip

    def _update(self, previous: Alert, record: ResultRecord, now: float) -> tuple[Alert, str]:
        scream, negative = _probabilities(record)
        alert = previous.model_copy(deep=True)
        alert.windows += 1
        if record.captured_at >= alert.last_window.captured_at:
            alert.last_window = _window(record)
        alert.scream_probability = max(alert.scream_probability, scream)
        alert.negative_probability = max(alert.negative_probability, negative)
        alert.updated_at = now
        severity = self.policy.severity(alert.windows)
        if severity == alert.severity:
            return alert, "updated"
        alert.severity = severity
        alert.responders = self._notices(severity)
        return alert, "escalated"

    def _create(self, record: ResultRecord, pending: PendingIncident, now: float) -> Alert:
        first = pending.first_window
        assert first is not None  # confirmed incidents have alerting windows
        severity = self.policy.severity(pending.windows)
        return Alert(
            id=uuid.uuid4().hex,
            incident_id=f"{record.device_id}/{first.sequence}",
            device_id=record.device_id,
            device_kind=record.device_kind,
            nr_cell_id=record.nr_cell_id,
            model=record.model,
            model_version=record.model_version,
            scream_probability=pending.scream_probability,
            negative_probability=pending.negative_probability,
            first_window=first,
            last_window=_window(record),
            windows=pending.windows,
            severity=severity,
            status=AlertStatus.OPEN,
            created_at=now,
            updated_at=now,
            detection_latency_ms=(now - first.captured_at) * 1e3,
            responders=self._notices(severity),
        )

    def _notices(self, severity: int) -> list[ResponderNotice]:
        return [
            ResponderNotice(
                responder=name,
                severity=severity,
                state=DeliveryState.PENDING if name in self.webhooks else DeliveryState.NO_WEBHOOK,
            )
            for name in self.policy.responders(Valence.NEGATIVE.value)
        ]

    def _observe(
        self, record: ResultRecord, decision: Decision, change: str, decided_at: float
    ) -> AfterCommit:
        async def observe() -> None:  # after the commit: a retried transaction counts once
            self.metrics.decisions.labels(decision.value).inc()
            if change:
                self.metrics.alerts.labels(change).inc()
            self.metrics.end_to_end.observe(max(0.0, decided_at - record.captured_at))
            stamps = [getattr(record, s) for s in STAGES] + [decided_at]
            for name, (a, b) in zip(STAGE_NAMES, itertools.pairwise(stamps), strict=True):
                self.metrics.stage.labels(name).observe(max(0.0, b - a))

        return observe


def _window(record: ResultRecord) -> WindowRef:
    return WindowRef(
        result_id=record.result_id, sequence=record.sequence, captured_at=record.captured_at
    )


def _probabilities(record: ResultRecord) -> tuple[float, float]:
    assert record.type is not None  # a negative scream implies the type stage ran
    return record.detection.probabilities[SCREAM], record.type.probabilities[Valence.NEGATIVE]


def _event(record: ResultRecord, decision: Decision) -> dict[Any, Any]:
    fields = record.to_fields()
    keys = ("result_id", "device_id", "nr_cell_id", "captured_at", "type_label")
    return {"decision": decision.value, **{k: fields[k] for k in keys}}
