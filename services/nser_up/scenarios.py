"""Scenarios for `nser up`: which scene each device hears, so a run has known ground truth.

A scenario splits the fleet between scenes (shared/nser_shared/sound/scenes.py) by share; each
scene's devices run in their own sensing process, numbered so that no two share an id.
"""

from __future__ import annotations

from nser_shared.errors import NserError

SCENARIOS: dict[str, tuple[tuple[str, float], ...]] = {
    # An evening in a district: one in four devices near an assault, one in four at a party,
    # the rest at home.
    "evening": (("assault", 0.25), ("party", 0.25), ("quiet-home", 0.5)),
    "assault": (("assault", 1.0),),
    "party": (("party", 1.0),),
    "quiet-home": (("quiet-home", 1.0),),
}
DEFAULT_SCENARIO = "evening"


def split_devices(scenario: str, devices: int) -> list[tuple[str, int, int]]:
    """(scene, first device index, device count) per scene of `scenario`, every count >= 1."""
    if scenario not in SCENARIOS:
        raise NserError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    shares = SCENARIOS[scenario]
    if devices < len(shares):
        raise NserError(f"scenario {scenario!r} needs at least {len(shares)} devices")
    counts = [max(1, round(devices * share)) for _, share in shares]
    counts[-1] = devices - sum(counts[:-1])
    if counts[-1] < 1:
        raise NserError(f"{devices} devices are too few for scenario {scenario!r}")
    out, first = [], 0
    for (scene, _), count in zip(shares, counts, strict=True):
        out.append((scene, first, count))
        first += count
    return out
