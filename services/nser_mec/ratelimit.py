"""Per-device rate limits: a token bucket per device id, so one device (or someone forging its
id) cannot take the MEC's capacity from the others. The table of buckets is bounded: the least
recently seen device is forgotten first, which only ever gives it a fresh, full bucket."""

from __future__ import annotations

import time
from collections import OrderedDict

from nser_mec.errors import DeviceRateLimitedError

MAX_DEVICES = 100_000


class DeviceRateLimiter:
    def __init__(self, rate_per_s: float, burst: int, max_devices: int = MAX_DEVICES) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self.max_devices = max_devices
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def admit(self, device_id: str, now: float | None = None) -> None:
        """Take one token for `device_id`, or raise DeviceRateLimitedError."""
        if self.rate <= 0:
            return
        t = time.monotonic() if now is None else now
        tokens, last = self.buckets.pop(device_id, (self.burst, t))
        tokens = min(self.burst, tokens + (t - last) * self.rate)
        if tokens < 1.0:
            self.buckets[device_id] = (tokens, t)
            wait = (1.0 - tokens) / self.rate
            raise DeviceRateLimitedError(
                f"device {device_id} exceeds its limit of {self.rate:g} windows/s "
                f"(burst {self.burst:g}); retry after {wait * 1e3:.0f} ms",
                wait,
            )
        self.buckets[device_id] = (tokens - 1.0, t)
        if len(self.buckets) > self.max_devices:
            self.buckets.popitem(last=False)
