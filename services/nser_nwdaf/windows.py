"""Reading the bucket counters back: a window is the buckets it touches, summed.

A window [start, end] is widened to bucket boundaries: from the bucket holding its start to the
end of the bucket holding its end, so counts are exact to within one bucket at each edge. Rates
divide by the window's elapsed time, which stops at the clock for a window that includes the
bucket now filling.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from nser_nwdaf import keys
from nser_nwdaf.keys import ScopeKind

Counts = dict[str, int]  # counter -> value


@dataclass(frozen=True)
class Window:
    start: int  # first bucket's start
    end: int  # last bucket's end (exclusive)

    @classmethod
    def covering(cls, start: float, end: float, bucket_seconds: int) -> Window:
        """From the bucket holding `start` to the end of the bucket holding `end`."""
        b = bucket_seconds
        return cls(math.floor(start / b) * b, math.floor(end / b) * b + b)

    @classmethod
    def ending(cls, end: float, seconds: int, bucket_seconds: int) -> Window:
        """The `seconds` (a multiple of the bucket) up to the end of the bucket holding `end`."""
        last = math.floor(end / bucket_seconds) * bucket_seconds + bucket_seconds
        return cls(last - seconds, last)

    def before(self, seconds: int) -> Window:
        """The `seconds` just before this window."""
        return Window(self.start - seconds, self.start)

    def elapsed(self, now: float) -> float:
        return max(1.0, min(float(self.end), now) - self.start)

    def starts(self, bucket_seconds: int) -> range:
        return range(self.start, self.end, bucket_seconds)


@dataclass
class Totals:
    counts: Counts = field(default_factory=dict)
    maxima: Counts = field(default_factory=dict)
    peaks: Counts = field(default_factory=dict)  # the largest single-bucket sum of each counter

    def get(self, counter: str) -> int:
        return self.counts.get(counter, 0)


@dataclass
class Series:
    """Per-bucket counters of one kind of scope: bucket start -> scope id -> counter -> value."""

    sums: dict[int, dict[str, Counts]]
    maxima: dict[int, dict[str, Counts]]

    def totals(self, window: Window, ids: set[str] | None = None) -> dict[str, Totals]:
        """Each scope's totals over `window`; every scope in `ids` (zeros if silent), or all."""
        out: dict[str, Totals] = defaultdict(Totals)
        for scope_id in ids or ():
            out[scope_id] = Totals()
        for t, scopes in self.sums.items():
            if not window.start <= t < window.end:
                continue
            for scope_id, counts in scopes.items():
                if ids is not None and scope_id not in ids:
                    continue
                total = out[scope_id]
                for counter, value in counts.items():
                    total.counts[counter] = total.counts.get(counter, 0) + value
                    total.peaks[counter] = max(total.peaks.get(counter, 0), value)
                for counter, value in self.maxima.get(t, {}).get(scope_id, {}).items():
                    total.maxima[counter] = max(total.maxima.get(counter, 0), value)
        return dict(out)


async def read_series(
    redis: aioredis.Redis, kind: ScopeKind, window: Window, bucket_seconds: int
) -> Series:
    starts = list(window.starts(bucket_seconds))
    async with redis.pipeline(transaction=False) as pipe:
        for t in starts:
            pipe.hgetall(keys.bucket_hash(kind, t))
            pipe.zrange(keys.bucket_maxima(kind, t), 0, -1, withscores=True)
        replies = await pipe.execute()
    sums: dict[int, dict[str, Counts]] = {}
    maxima: dict[int, dict[str, Counts]] = {}
    for i, t in enumerate(starts):
        sums[t] = _nest((_text(k), int(v)) for k, v in replies[2 * i].items())
        maxima[t] = _nest((_text(k), int(score)) for k, score in replies[2 * i + 1])
    return Series(sums, maxima)


async def read_members(
    redis: aioredis.Redis, window: Window, bucket_seconds: int, negative: bool = False
) -> set[tuple[str, str]]:
    """(cell, device) pairs seen in the window (with a negative scream, if `negative`)."""
    key = keys.negative_devices if negative else keys.seen_devices
    async with redis.pipeline(transaction=False) as pipe:
        for t in window.starts(bucket_seconds):
            pipe.smembers(key(t))
        replies = await pipe.execute()
    pairs: set[tuple[str, str]] = set()
    for members in replies:
        for member in members:
            cell, device = json.loads(member)
            pairs.add((str(cell), str(device)))
    return pairs


def _nest(items: Iterable[tuple[str, int]]) -> dict[str, Counts]:
    out: dict[str, Counts] = defaultdict(dict)
    for name, value in items:
        counter, scope_id = keys.split_field(name)
        out[scope_id][counter] = value
    return dict(out)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
