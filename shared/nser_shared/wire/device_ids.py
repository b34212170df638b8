"""Device identity: the kinds, how a simulated fleet names its devices, and the one rule a device
id must follow, shared by the wire format (nser_shared.wire.windows), the simulated devices
(nser_sensing.devices) and the device certificates (nser_shared.security.dev_pki). Standard
library only, so the lean images can import it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

MAX_DEVICE_ID_LENGTH = 128
DEVICE_ID_RULE = (
    f"1-{MAX_DEVICE_ID_LENGTH} characters of letters, digits and ._:@- starting with a letter "
    "or digit"
)
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]*")


class DeviceKind(StrEnum):
    PHONE = "phone"
    WATCH = "watch"
    ASSISTANT = "assistant"


def is_device_id(value: str) -> bool:
    """Whether `value` is a device id the wire format accepts."""
    return 0 < len(value) <= MAX_DEVICE_ID_LENGTH and _DEVICE_ID.fullmatch(value) is not None


def device_id(kind: DeviceKind, index: int) -> str:
    """The id of the simulated device with fleet index `index`."""
    return f"{kind.value}-{index:04d}"


def fleet_device_ids(
    first_index: int, count: int, kinds: Sequence[DeviceKind] = tuple(DeviceKind)
) -> list[str]:
    """The ids of `count` simulated devices numbered from `first_index`, kinds dealt round-robin
    by index (as nser_sensing.devices.build_devices deals them)."""
    return [device_id(kinds[i % len(kinds)], i) for i in range(first_index, first_index + count)]
