"""What the devices were told, against what reached the results stream, the decision layer and
the alert store: the reconciliation behind `nser chaos` and the fault-injection tests.

Inputs are the devices' sent-window logs (`nser sense --sent-log`, nser_sensing.sentlog: one
line per settled window, OK with the MEC's result id, or the status it failed with), the stream
itself, the decision layer's per-result done markers (`applied`: how often the result's effect
was committed, `redelivered`: copies only acknowledged) and the alerts.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis

from nser_decision.metrics import CONSUMER_GROUP
from nser_decision.store import ALERTS, alert_key
from nser_shared.stream.consumer import ConsumerConfig
from nser_shared.stream.results import RESULTS_STREAM, ResultRecord

DONE = ConsumerConfig(group=CONSUMER_GROUP)  # where the decision layer marks each result done


@dataclass
class Reconciliation:
    log: list[dict[str, Any]]
    copies: Counter[str]  # result id -> entries in the stream (the MEC may publish twice)
    records: dict[str, ResultRecord]
    applied: dict[str, int]  # result id -> times its effect was applied (the done marker)
    redelivered: dict[str, int]
    acked: dict[str, dict[str, Any]] = field(init=False)  # result id -> its OK log line
    failed: list[dict[str, Any]] = field(init=False)  # windows the devices gave up on
    lost: set[str] = field(init=False)  # acknowledged, never in the stream
    orphans: set[str] = field(init=False)  # in the stream, the device never told

    def __post_init__(self) -> None:
        self.acked = {line["result_id"]: line for line in self.log if line["status"] == "OK"}
        self.failed = [line for line in self.log if line["status"] != "OK"]
        self.lost = set(self.acked) - set(self.records)
        self.orphans = set(self.records) - set(self.acked)

    @property
    def undecided(self) -> set[str]:
        """In the stream, never applied by the decision layer."""
        return set(self.records) - set(self.applied)

    @property
    def applied_twice(self) -> set[str]:
        return {result_id for result_id, n in self.applied.items() if n > 1}

    def summary(self) -> dict[str, int]:
        return {
            "windows": len(self.log),
            "acknowledged": len(self.acked),
            "failed": len(self.failed),
            "stream_entries": sum(self.copies.values()),
            "decided": len(self.applied),
            "redelivered": sum(self.redelivered.values()),
            "lost": len(self.lost),
            "orphans": len(self.orphans),
            "undecided": len(self.undecided),
            "applied_twice": len(self.applied_twice),
        }


def reconcile(client: redis.Redis, log: list[dict[str, Any]]) -> Reconciliation:
    """`log` (the devices' sent-window lines) against the stream and the done markers; only
    the stream entries of the devices in `log` count."""
    devices = {line["device_id"] for line in log}
    copies: Counter[str] = Counter()
    records: dict[str, ResultRecord] = {}
    last = "-"
    while True:
        batch: list[tuple[bytes, dict[bytes, bytes]]]
        batch = client.xrange(RESULTS_STREAM, min=last, count=10_000)  # type: ignore[assignment]
        if not batch:
            break
        for _, fields in batch:
            record = ResultRecord.from_fields(fields)
            if record.device_id in devices:
                copies[record.result_id] += 1
                records[record.result_id] = record
        last = "(" + batch[-1][0].decode()
    applied, redelivered = {}, {}
    pipe = client.pipeline(transaction=False)
    ids = list(records)
    for result_id in ids:
        pipe.hgetall(DONE.done_key(result_id))
    for result_id, marker in zip(ids, pipe.execute(), strict=True):
        if marker:
            applied[result_id] = int(marker.get(b"applied", 0))
            redelivered[result_id] = int(marker.get(b"redelivered", 0))
    return Reconciliation(log, copies, records, applied, redelivered)


def stored_alerts(client: redis.Redis, devices: set[str]) -> list[dict[str, Any]]:
    """Every alert in the store raised for one of `devices`, as stored."""
    alerts = []
    members: list[bytes] = client.zrange(ALERTS, 0, -1)  # type: ignore[assignment]
    for member in members:
        raw: bytes | None = client.get(alert_key(member.decode()))  # type: ignore[assignment]
        if raw is None:
            continue  # expired or removed between the two reads
        alert = json.loads(raw)
        if alert["device_id"] in devices:
            alerts.append(alert)
    return alerts


def duplicated_alerts(alerts: list[dict[str, Any]]) -> int:
    """Alerts beyond the first for one incident (a device and its first alerting window)."""
    incidents = Counter(a["incident_id"] for a in alerts)
    return sum(n - 1 for n in incidents.values())
