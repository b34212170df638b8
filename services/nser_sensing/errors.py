"""The errors of nser_sensing; each derives from NserError (nser_shared.errors)."""

from __future__ import annotations

from nser_shared.errors import NserError


class MecUnreachableError(NserError):
    """The MEC inference service could not be reached within the connect timeout."""


class DeviceConfigError(NserError):
    """A fleet that cannot be built: no devices, no cells, a bad hop or gate."""


class NetemError(NserError):
    """The link profile could not be applied (no tc, no CAP_NET_ADMIN, no netem in the kernel)."""
