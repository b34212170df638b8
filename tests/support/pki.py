"""Development PKIs for the tests (nser_shared.security.tls, as `nser credentials` writes them): the
session's own, and a foreign one whose certificates the first must refuse."""

from __future__ import annotations

from pathlib import Path

import grpc

from nser_shared.security.dev_pki import PkiLayout, create_dev_pki
from nser_shared.wire.device_ids import fleet_device_ids

# Devices with certificates: the ids the tests' windows use, and the first simulated fleet.
DEVICE_IDS = ("phone-0001", "phone-0002", *fleet_device_ids(0, 4))


def make_pki(folder: Path) -> PkiLayout:
    return create_dev_pki(folder, DEVICE_IDS).layout


def device_credentials(
    pki: PkiLayout, device_id: str, ca: Path | None = None
) -> grpc.ChannelCredentials:
    """A device's TLS client credentials from `pki`, trusting `ca` (default: pki's own CA)."""
    return grpc.ssl_channel_credentials(
        root_certificates=(ca or pki.ca_cert).read_bytes(),
        private_key=pki.device_key(device_id).read_bytes(),
        certificate_chain=pki.device_cert(device_id).read_bytes(),
    )
