"""Simulated radio/transport links between a device and the server it talks to: the one table
of link profiles, used by the sensing clients (applied per request in Python) and by the compose
set-up (applied with `tc netem`).

Figures: IMT-2020's one-way user-plane latency is 1 ms for URLLC and 4 ms for eMBB (ITU-R
M.2410); LTE has about 10 ms of radio latency and 30-50 ms end to end; the
AdvantEDGE demo puts a distant cloud 50 +- 5 ms away one way. Uplink rates are typical sustained
per-device figures, not peak rates: what matters is that a 96 KB float32 window takes visibly
longer over LTE than over 5G. Loss is the residual loss after the link layer gives up; each lost
transmission costs one retransmission timeout (HARQ round trips on the radio, a TCP-like
retransmission timeout for the cloud path).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from nser_shared.errors import NserError


@dataclass(frozen=True)
class LinkProfile:
    name: str
    description: str
    one_way_ms: float  # mean one-way latency, each direction
    jitter_ms: float  # standard deviation of the one-way latency
    uplink_mbps: float  # device -> server rate applied to the request size
    downlink_mbps: float  # server -> device rate applied to the response size
    loss: float  # probability that one transmission is lost and must be repeated
    retransmit_ms: float  # what a lost transmission costs before it is repeated

    def netem_args(self) -> list[str]:
        """`tc qdisc ... netem` arguments for the device's egress (uplink) with this profile;
        empty for a profile with nothing to emulate (`ideal`)."""
        if self.one_way_ms == 0 and self.jitter_ms == 0 and self.loss == 0:
            return []
        args = ["delay", f"{self.one_way_ms:g}ms"]
        if self.jitter_ms > 0:  # netem refuses a distribution without a jitter
            args += [f"{self.jitter_ms:g}ms", "distribution", "normal"]
        return [*args, "rate", f"{round(self.uplink_mbps)}mbit", "loss", f"{self.loss * 100:g}%"]


LINK_PROFILES: dict[str, LinkProfile] = {
    profile.name: profile
    for profile in (
        LinkProfile(
            "ideal", "no simulated delay (benchmarks of the server alone)", 0, 0, 1e6, 1e6, 0, 0
        ),
        LinkProfile(
            "urllc", "5G URLLC to a MEC host at the base station", 1.0, 0.2, 100, 200, 1e-5, 1.0
        ),
        LinkProfile("embb", "5G eMBB to a MEC host", 4.0, 1.0, 50, 300, 1e-3, 8.0),
        LinkProfile("lte", "4G LTE to an edge server", 20.0, 5.0, 10, 50, 1e-2, 16.0),
        LinkProfile(
            "cloud",
            "5G eMBB, then the backhaul to a distant cloud",
            54.0,
            5.0,
            50,
            300,
            1e-3,
            200.0,
        ),
    )
}
DEFAULT_LINK_PROFILE = "urllc"


def link_profile(name: str) -> LinkProfile:
    try:
        return LINK_PROFILES[name]
    except KeyError:
        choices = ", ".join(LINK_PROFILES)
        raise NserError(f"unknown link profile {name!r}; choose one of: {choices}") from None


@dataclass(frozen=True)
class LinkDelay:
    """What the link did to one message in one direction."""

    delay_ms: float  # total: propagation + jitter + serialisation + retransmissions
    retransmissions: int


def sample_delay(
    profile: LinkProfile, size_bytes: int, mbps: float, rng: random.Random
) -> LinkDelay:
    """One message's one-way delay over `profile` at rate `mbps`, drawn from `rng`."""
    retransmissions = 0
    while rng.random() < profile.loss and retransmissions < 10:
        retransmissions += 1
    propagation = max(0.0, rng.gauss(profile.one_way_ms, profile.jitter_ms))
    serialisation = size_bytes * 8 / (mbps * 1e3)  # bits / (bits per ms)
    total = propagation + serialisation + retransmissions * profile.retransmit_ms
    return LinkDelay(delay_ms=total, retransmissions=retransmissions)


def uplink_delay(profile: LinkProfile, size_bytes: int, rng: random.Random) -> LinkDelay:
    return sample_delay(profile, size_bytes, profile.uplink_mbps, rng)


def downlink_delay(profile: LinkProfile, size_bytes: int, rng: random.Random) -> LinkDelay:
    return sample_delay(profile, size_bytes, profile.downlink_mbps, rng)
