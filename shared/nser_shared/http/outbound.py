"""Where the services may send notifications: not to the host they run on or its neighbours.

A webhook or an NWDAF notificationURI is a URL someone else chose. Without a check, the
decision or analytics service would POST to whatever it names, including its own host
(loopback), link-local addresses and the cloud metadata service (169.254.169.254), the classic
server-side request forgery. `internal_host_reason` refuses those unless the host is listed as
allowed (a local test receiver, say). Host names are not resolved: a name that resolves to an
internal address later is not caught here; the network's egress rules are the place for that.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

# Names that always mean this host or a cloud's metadata service.
INTERNAL_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata.google.internal"})


def internal_host_reason(url: str, allowed_hosts: Collection[str]) -> str | None:
    """Why `url` may not be notified (its host is this host, link-local or a metadata
    service), or None when it may. Hosts in `allowed_hosts` are always allowed."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host in allowed_hosts:
        return None
    if host in INTERNAL_NAMES or host.endswith(".localhost"):
        return f"{host} names this host or a metadata service"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: not resolved here (see the module docstring)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return f"{host} is this host"
    if address.is_link_local:
        return f"{host} is link-local (the cloud metadata service lives there)"
    return None
