"""The development PKI that `nser credentials` (and `nser up`, and the tests) write; what servers
and clients load from it at run time is in tls.py.

One directory holds the whole development PKI:

    ca.pem, ca.key            the development CA (its key is here only because it is a dev CA:
                              a real deployment keeps its CA key off the hosts it serves)
    server.pem, server.key    every service's certificate (SANs: localhost, 127.0.0.1, ::1 and
                              the compose service names); usable for client auth too, so probes
                              can reach the MEC, which requires client certificates
    devices/<id>.pem, .key    one certificate per sensing device: subject CN = the device id and
                              a SAN URI urn:nser:device:<id>, which the MEC compares with the
                              device id of every window
    redis.password            the Redis password (`nser up` and the compose Redis require it)
    webhook.secret            the HMAC key the decision service signs its webhooks with
    api-tokens.json, reader.token, operator.token   the REST API tokens (tokens.py)

Keys are EC P-256; certificates are valid for `VALIDITY` (30 days) from their creation. Private
keys and secrets are written mode 0600, certificates 0644.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nser_shared.errors import ConfigurationError
from nser_shared.security.credential_files import read_file
from nser_shared.security.tls import device_uri
from nser_shared.wire.device_ids import DEVICE_ID_RULE, is_device_id

VALIDITY = datetime.timedelta(days=30)
CLOCK_SKEW = datetime.timedelta(minutes=5)  # certificates start this much in the past
SERVER_DNS_NAMES = (
    "localhost", "mec", "mec-teacher", "decision", "nwdaf", "prometheus", "redis", "grafana",
)  # fmt: skip
SERVER_IPS = ("127.0.0.1", "::1")
CA_NAME = "nser development CA"
SERVER_NAME = "nser services"


@dataclass(frozen=True)
class PkiLayout:
    """Where each file of the development PKI lives under `root`."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "server.key"

    @property
    def devices(self) -> Path:
        return self.root / "devices"

    @property
    def redis_password(self) -> Path:
        return self.root / "redis.password"

    @property
    def webhook_secret(self) -> Path:
        return self.root / "webhook.secret"

    def device_cert(self, device_id: str) -> Path:
        return self.devices / f"{device_id}.pem"

    def device_key(self, device_id: str) -> Path:
        return self.devices / f"{device_id}.key"

    def device_ids(self) -> list[str]:
        """Ids of the devices that have a certificate here."""
        if not self.devices.is_dir():
            return []
        return sorted(p.stem for p in self.devices.glob("*.pem"))


def _write(path: Path, data: bytes, private: bool) -> None:
    """Write `data` to `path` atomically (a temporary file renamed over it); 0600 if private."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "nser (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class _Issuer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _builder(
    subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _key_usage(ca: bool) -> x509.KeyUsage:
    """A CA signs certificates; a leaf signs handshakes (ECDSA) and nothing else."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _new_ca(now: datetime.datetime) -> _Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(_name(CA_NAME), key, _name(CA_NAME), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _Issuer(cert, key)


def _leaf(
    issuer: _Issuer,
    common_name: str,
    names: list[x509.GeneralName],
    usages: list[x509.ObjectIdentifier],
    now: datetime.datetime,
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a new end-entity certificate signed by `issuer`."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(_name(common_name), key, issuer.cert.subject, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _server_names() -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_DNS_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    return names


def check_device_ids(device_ids: Iterable[str]) -> list[str]:
    """`device_ids` without repeats, in order; ConfigurationError naming any that the wire
    format would refuse (nser_shared.wire.windows)."""
    out: list[str] = []
    for device_id in device_ids:
        if not is_device_id(device_id):
            raise ConfigurationError(f"device id {device_id[:40]!r} is not {DEVICE_ID_RULE}")
        if device_id not in out:
            out.append(device_id)
    return out


def _load_issuer(layout: PkiLayout) -> _Issuer:
    try:
        cert = x509.load_pem_x509_certificate(read_file(layout.ca_cert, "the CA certificate"))
        key = serialization.load_pem_private_key(read_file(layout.ca_key, "the CA key"), None)
    except ValueError as exc:  # not PEM, or not a certificate / an unencrypted key
        raise ConfigurationError(f"the CA in {layout.root} cannot be read: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigurationError(f"{layout.ca_key}: not an EC private key")
    if cert.public_key() != key.public_key():
        raise ConfigurationError(f"{layout.ca_key} is not the key of {layout.ca_cert}")
    if cert.not_valid_after_utc <= datetime.datetime.now(datetime.UTC):
        raise ConfigurationError(
            f"the CA in {layout.root} expired on {cert.not_valid_after_utc:%Y-%m-%d}; "
            "replace it (and every certificate) with --force"
        )
    return _Issuer(cert, key)


@dataclass
class PkiReport:
    """What `create_dev_pki` did: files written, and whether the CA existed already."""

    layout: PkiLayout
    ca_kept: bool = False
    written: list[Path] = field(default_factory=list)


def create_dev_pki(
    out: Path, device_ids: Sequence[str] = (), *, force: bool = False, tokens: bool = True
) -> PkiReport:
    """Write the development PKI to `out` (see the module docstring).

    An existing CA is kept (never overwritten without `force`): only what is missing is added,
    device certificates signed by that CA. With `force`, a new CA and new certificates for
    every device (those already there and `device_ids`), a new Redis password and tokens."""
    ids = check_device_ids(device_ids)
    layout = PkiLayout(out)
    if out.exists() and not out.is_dir():
        raise ConfigurationError(f"{out} exists and is not a directory")
    report = PkiReport(layout)
    now = datetime.datetime.now(datetime.UTC)
    if layout.ca_cert.exists() and not force:
        issuer = _load_issuer(layout)
        report.ca_kept = True
    else:
        if layout.ca_key.exists() and not layout.ca_cert.exists() and not force:
            raise ConfigurationError(
                f"{layout.ca_key} exists without {layout.ca_cert.name}: remove it or use --force"
            )
        ids = check_device_ids([*layout.device_ids(), *ids])  # re-issue under the new CA
        issuer = _new_ca(now)
        _write(layout.ca_key, _key_pem(issuer.key), private=True)
        _write(layout.ca_cert, issuer.cert.public_bytes(serialization.Encoding.PEM), False)
        report.written += [layout.ca_cert, layout.ca_key]
    fresh = not report.ca_kept
    if fresh or not layout.server_cert.exists() or not layout.server_key.exists():
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        cert, key = _leaf(issuer, SERVER_NAME, _server_names(), usages, now)
        _write(layout.server_key, key, private=True)
        _write(layout.server_cert, cert, private=False)
        report.written += [layout.server_cert, layout.server_key]
    for device_id in ids:
        cert_path, key_path = layout.device_cert(device_id), layout.device_key(device_id)
        if not fresh and cert_path.exists() and key_path.exists():
            continue
        names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(device_uri(device_id))]
        cert, key = _leaf(issuer, device_id, names, [ExtendedKeyUsageOID.CLIENT_AUTH], now)
        _write(key_path, key, private=True)
        _write(cert_path, cert, private=False)
        report.written += [cert_path, key_path]
    for secret in (layout.redis_password, layout.webhook_secret):
        if fresh or not secret.exists():
            _write(secret, (secrets.token_urlsafe(32) + "\n").encode(), private=True)
            report.written.append(secret)
    if tokens:
        report.written += _write_tokens(out, fresh)
    return report


def _write_tokens(out: Path, fresh: bool) -> list[Path]:
    from nser_shared.security import tokens as auth

    table = out / auth.TOKENS_FILE
    if table.exists() and not fresh:
        return []
    auth.write_dev_tokens(out)
    return [table, *(out / auth.token_file_name(role) for role in auth.Role)]
