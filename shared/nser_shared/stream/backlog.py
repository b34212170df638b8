"""How far each consumer group is behind the results stream: XLEN and XINFO GROUPS, read when
asked (a /metrics scrape, an analytics request), for the decision and analytics services.

`lag` is what Redis counts: entries added to the stream that the group has not been delivered
yet, including any that the stream's MAXLEN trimmed away before the group read them, so a lag
above the stream's length means the group has lost (lag - length) results to trimming. Redis
cannot always tell (None): for a group created at `$` that has read nothing, or after XDEL.
A group that has read the stream's last entry has lag 0. `pending` is delivered to a replica
and not yet acknowledged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, Gauge
from redis.exceptions import ResponseError

from nser_shared.stream.results import RESULTS_STREAM


@dataclass(frozen=True)
class GroupBacklog:
    group: str
    stream_length: int
    lag: int | None
    pending: int


async def read_backlogs(redis: aioredis.Redis, stream: str = RESULTS_STREAM) -> list[GroupBacklog]:
    """Every group of `stream`, by name; empty when the stream does not exist yet."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xinfo_stream(stream)
        pipe.xinfo_groups(stream)
        try:
            info, groups = await pipe.execute()
        except ResponseError as exc:  # "no such key": nothing published, no group yet
            if "no such key" not in str(exc).lower():
                raise
            return []
    last = _text(info["last-generated-id"])
    return sorted(
        (
            GroupBacklog(
                group=_text(g["name"]),
                stream_length=int(info["length"]),
                lag=_lag(g, last),
                pending=int(g["pending"]),
            )
            for g in groups
        ),
        key=lambda b: b.group,
    )


def _lag(group: dict[Any, Any], last_id: str) -> int | None:
    # Redis 7.0 never brings the lag of a group that trimming skipped past back to 0, even once
    # it has read the stream's last entry: there, nothing is left to deliver.
    if _text(group["last-delivered-id"]) == last_id:
        return 0
    return None if group.get("lag") is None else int(group["lag"])


class BacklogGauges:
    """`{prefix}_stream_length`, and `{prefix}_consumer_lag` and `{prefix}_consumer_pending` by
    consumer group (every group, not only the service's own: one scrape of any consumer shows
    who is behind), set from Redis before each scrape (`refresh`)."""

    def __init__(self, prefix: str, registry: CollectorRegistry) -> None:
        self.length = Gauge(
            f"{prefix}_stream_length",
            "Entries in the results stream (bounded by the MEC's MAXLEN ~)",
            registry=registry,
        )
        self.lag = Gauge(
            f"{prefix}_consumer_lag",
            "Results added to the stream not yet delivered to the group, trimmed ones included "
            "(NaN: Redis cannot tell)",
            ["group"],
            registry=registry,
        )
        self.pending = Gauge(
            f"{prefix}_consumer_pending",
            "Results delivered to a replica of the group and not yet acknowledged",
            ["group"],
            registry=registry,
        )

    async def refresh(self, redis: aioredis.Redis, stream: str = RESULTS_STREAM) -> None:
        for backlog in await read_backlogs(redis, stream):
            self.length.set(backlog.stream_length)
            lag = math.nan if backlog.lag is None else backlog.lag
            self.lag.labels(backlog.group).set(lag)
            self.pending.labels(backlog.group).set(backlog.pending)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
