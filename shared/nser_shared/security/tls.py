"""The TLS files every server and client loads at run time (each service's settings name them:
`tls_cert`, `tls_key`, ...), and the device identity a client certificate carries. The
development PKI that makes these files is dev_pki.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nser_shared.errors import ConfigurationError
from nser_shared.security.credential_files import read_file

log = logging.getLogger(__name__)

DEVICE_URI_PREFIX = "urn:nser:device:"


def device_uri(device_id: str) -> str:
    """The SAN URI a device's certificate carries."""
    return DEVICE_URI_PREFIX + device_id


@dataclass(frozen=True)
class ServerTls:
    """A server's TLS files, read once at start-up (paths kept for uvicorn and /metrics)."""

    cert_path: Path
    key_path: Path
    cert: bytes
    key: bytes
    client_ca_path: Path | None = None
    client_ca: bytes | None = None


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def server_tls(
    service: str,
    settings: Any,
    table: dict[str, Any],
    *,
    plaintext: str = "traffic is plaintext",
) -> ServerTls | None:
    """The TLS files `settings` names (fields tls_cert, tls_key and, where the table has it,
    tls_client_ca), or None with one WARNING when `settings.insecure` is set.

    Neither TLS files nor `insecure`: ConfigurationError saying how to fix it."""
    wanted = [name for name in ("tls_cert", "tls_key", "tls_client_ca") if name in table]
    if settings.insecure:
        log.warning("%s: --insecure: %s; use it only on a trusted test network", service, plaintext)
        return None
    missing = [name for name in wanted if not getattr(settings, name)]
    if missing:
        named = ", ".join(f"{_option(n)} ({table[n].env})" for n in missing)
        raise ConfigurationError(
            f"{service} serves TLS only: set {named} to files from `nser credentials --out DIR` "
            "(server.pem, server.key, ca.pem), or pass --insecure to run plaintext"
        )
    cert_path, key_path = Path(settings.tls_cert), Path(settings.tls_key)
    ca_path = Path(settings.tls_client_ca) if "tls_client_ca" in wanted else None
    return ServerTls(
        cert_path=cert_path,
        key_path=key_path,
        cert=read_file(cert_path, f"{service} certificate ({_option('tls_cert')})"),
        key=read_file(key_path, f"{service} private key ({_option('tls_key')})"),
        client_ca_path=ca_path,
        client_ca=None if ca_path is None else read_file(ca_path, "client CA (--tls-client-ca)"),
    )


def device_identity(auth_context: dict[str, Any]) -> str | None:
    """The device id a gRPC peer's verified client certificate names (its urn:nser:device: SAN
    URI), or None if it names none (a service certificate) or the connection is not TLS."""
    names = [
        value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
        for value in auth_context.get("x509_subject_alternative_name", [])
    ]
    devices = {n.removeprefix(DEVICE_URI_PREFIX) for n in names if n.startswith(DEVICE_URI_PREFIX)}
    return devices.pop() if len(devices) == 1 else None
