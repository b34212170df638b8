"""How simulated devices reach the MEC: mutual TLS, one identity per device (its own certificate,
`<device id>.pem` / `.key` in `device_certs`, and so its own channel), the MEC's certificate
verified against `tls_ca`; or, only when asked with `insecure`, plaintext over one shared channel.

The files come from `nser credentials` (nser_shared.security.dev_pki): `--tls-ca DIR/ca.pem
--device-certs DIR/devices`. Settings follow the services' pattern (option, then environment
variable).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from nser_shared import settings
from nser_shared.errors import ConfigurationError
from nser_shared.security.credential_files import read_file
from nser_shared.settings import parse_bool, setting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transport:
    tls_ca: str = setting("NSER_SENSE_TLS_CA", "CA (PEM) that signed the MEC's certificate", "")
    device_certs: str = setting(
        "NSER_SENSE_DEVICE_CERTS", "folder of <device id>.pem/.key device certificates", ""
    )
    insecure: bool = setting(
        "NSER_SENSE_INSECURE",
        "plaintext, no device certificates (logs a warning)",
        False,
        parse=parse_bool,
    )

    def check(self, device_ids: Sequence[str]) -> None:
        """ConfigurationError, before any work, if TLS is neither set up nor waived, or a device
        has no certificate."""
        if self.insecure:
            return
        missing = [name for name in ("tls_ca", "device_certs") if not getattr(self, name)]
        if missing:
            named = ", ".join(f"--{n.replace('_', '-')} ({SETTINGS[n].env})" for n in missing)
            raise ConfigurationError(
                f"nser sense connects with mutual TLS only: set {named} (from `nser credentials "
                "--out DIR --devices ...`: DIR/ca.pem, DIR/devices), or pass --insecure"
            )
        read_file(self.tls_ca, "CA certificate (--tls-ca)")
        for device_id in device_ids:
            self.credentials(device_id)

    def warn_if_insecure(self) -> None:
        if self.insecure:
            log.warning(
                "nser sense: --insecure: windows go to the MEC in plaintext and devices are not "
                "authenticated; use it only on a trusted test network"
            )

    def credentials(self, device_id: str) -> grpc.ChannelCredentials:
        """TLS credentials presenting `device_id`'s certificate; ConfigurationError if missing."""
        folder = Path(self.device_certs)
        what = f"certificate of device {device_id} (--device-certs)"
        return grpc.ssl_channel_credentials(
            root_certificates=read_file(self.tls_ca, "CA certificate (--tls-ca)"),
            private_key=read_file(folder / f"{device_id}.key", f"private key of {what}"),
            certificate_chain=read_file(folder / f"{device_id}.pem", what),
        )


INSECURE = Transport(insecure=True)

SETTINGS = settings.table(Transport)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser, Transport)


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> Transport:
    return settings.resolve(Transport, args, environ)
