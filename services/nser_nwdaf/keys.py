"""Every Redis key the analytics service uses, in one place.

Counters live in time buckets (`bucket_seconds` wide, keyed by the bucket's start in unix
seconds), one hash per kind of scope and bucket, so a window is a pipeline of HGETALLs:

    nser:nwdaf:b:{kind}:{t}   hash  "{counter}|{id}" -> sum         kind: cell, dev, nf
    nser:nwdaf:m:{kind}:{t}   zset  "{counter}|{id}" -> maximum     (ZADD GT)
    nser:nwdaf:ue:{t}         set   JSON [cell, device]: devices seen in a cell
    nser:nwdaf:neg:{t}        set   JSON [cell, device]: devices with a negative scream there

Each bucket key expires `retention_seconds` after its bucket ends. Subscriptions and the
notifier's state:

    nser:nwdaf:subscriptions          hash  id -> JSON {subscription, createdAt}
    nser:nwdaf:lease:{id}             string  the replica evaluating the subscription this tick
    nser:nwdaf:sent:{id}:{gen}:{i}:{slot}  string  claim of periodic report `slot` of event i
                                                  (SET NX; gen: the subscription's version)
    nser:nwdaf:thr:{id}               hash  "{i}|{threshold}|{scope}" -> "1" while fired
    nser:nwdaf:reports                hash  id -> notifications sent (for maxReportNbr)

The consumer's per-result done markers are `nser:nwdaf:done:{result_id}` (group "nwdaf").
"""

from __future__ import annotations

from enum import StrEnum

PREFIX = "nser:nwdaf"
CONSUMER_GROUP = "nwdaf"
SUBSCRIPTIONS = f"{PREFIX}:subscriptions"
REPORTS = f"{PREFIX}:reports"


class ScopeKind(StrEnum):
    CELL = "cell"
    DEVICE = "dev"
    NF = "nf"  # the MEC inference service, per served model


def bucket_hash(kind: ScopeKind, t: int) -> str:
    return f"{PREFIX}:b:{kind.value}:{t}"


def bucket_maxima(kind: ScopeKind, t: int) -> str:
    return f"{PREFIX}:m:{kind.value}:{t}"


def seen_devices(t: int) -> str:
    return f"{PREFIX}:ue:{t}"


def negative_devices(t: int) -> str:
    return f"{PREFIX}:neg:{t}"


def field_name(counter: str, scope_id: str) -> str:
    return f"{counter}|{scope_id}"


def split_field(name: str) -> tuple[str, str]:
    """(counter, scope id); counter names never hold '|', scope ids may."""
    counter, _, scope_id = name.partition("|")
    return counter, scope_id


def lease(subscription_id: str) -> str:
    return f"{PREFIX}:lease:{subscription_id}"


def periodic_claim(subscription_id: str, generation: str, index: int, slot: int) -> str:
    return f"{PREFIX}:sent:{subscription_id}:{generation}:{index}:{slot}"


def threshold_state(subscription_id: str) -> str:
    return f"{PREFIX}:thr:{subscription_id}"
