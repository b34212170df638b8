"""The development PKI and `nser credentials`: what is written, with which names and modes, what
is kept on a second run, bad arguments; secrets never shown; Redis with its password."""

from __future__ import annotations

import datetime
import ipaddress
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from redis.backoff import NoBackoff
from redis.retry import Retry
from support.processes import RedisChild, free_port

from nser_shared.errors import ConfigurationError
from nser_shared.security.dev_pki import SERVER_DNS_NAMES, VALIDITY, PkiLayout, create_dev_pki
from nser_shared.security.redis_url import redact_url, with_password
from nser_shared.security.tls import device_identity

NSER = [sys.executable, "-m", "nser_cli"]


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _credentials(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NSER, "credentials", *args], capture_output=True, text=True, timeout=60)


def test_the_layout_names_modes_and_certificates(dev_pki: PkiLayout) -> None:
    ca, server = _cert(dev_pki.ca_cert), _cert(dev_pki.server_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == set(SERVER_DNS_NAMES)
    ips = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    assert set(san.get_values_for_type(x509.IPAddress)) == ips
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usage) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    device = _cert(dev_pki.device_cert("phone-0001"))
    assert device.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "phone-0001"
    san = device.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:nser:device:phone-0001"]
    for cert in (server, device):
        assert cert.issuer == ca.subject
        ca.public_key().verify(  # type: ignore[union-attr]
            cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
        )
        lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        assert VALIDITY - datetime.timedelta(hours=1) < lifetime <= VALIDITY
    secrets = [dev_pki.ca_key, dev_pki.server_key, dev_pki.device_key("phone-0001"),
               dev_pki.redis_password, dev_pki.webhook_secret, dev_pki.root / "reader.token",
               dev_pki.root / "operator.token"]  # fmt: skip
    assert {p.name: _mode(p) for p in secrets} == {p.name: 0o600 for p in secrets}
    assert _mode(dev_pki.ca_cert) == _mode(dev_pki.server_cert) == 0o644
    assert (dev_pki.root / "api-tokens.json").is_file()


def test_a_second_run_keeps_the_ca_and_adds_missing_devices(tmp_path: Path) -> None:
    first = create_dev_pki(tmp_path, ["phone-0001"])
    ca, key, password = (first.layout.ca_cert.read_bytes(), first.layout.server_key.read_bytes(),
                         first.layout.redis_password.read_bytes())  # fmt: skip
    second = create_dev_pki(tmp_path, ["phone-0001", "watch-0002"])
    assert second.ca_kept
    assert second.written == [
        second.layout.device_cert("watch-0002"),
        second.layout.device_key("watch-0002"),
    ]
    assert second.layout.ca_cert.read_bytes() == ca
    assert second.layout.server_key.read_bytes() == key
    assert second.layout.redis_password.read_bytes() == password
    assert (
        _cert(second.layout.device_cert("watch-0002")).issuer
        == _cert(second.layout.ca_cert).subject
    )
    forced = create_dev_pki(tmp_path, [], force=True)  # a new CA re-issues every device
    assert not forced.ca_kept
    assert forced.layout.ca_cert.read_bytes() != ca
    assert forced.layout.device_ids() == ["phone-0001", "watch-0002"]
    new_ca = _cert(forced.layout.ca_cert).subject, _cert(forced.layout.ca_cert).public_key()
    for device in forced.layout.device_ids():
        cert = _cert(forced.layout.device_cert(device))
        new_ca[1].verify(  # type: ignore[union-attr]
            cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
        )


def test_a_ca_key_that_does_not_match_its_certificate_is_refused(tmp_path: Path) -> None:
    create_dev_pki(tmp_path / "a", [])
    other = create_dev_pki(tmp_path / "b", [])
    (tmp_path / "a" / "ca.key").write_bytes(other.layout.ca_key.read_bytes())
    with pytest.raises(ConfigurationError, match="is not the key of"):
        create_dev_pki(tmp_path / "a", ["phone-0001"])


def test_the_command_writes_the_fleet_and_never_prints_a_secret(tmp_path: Path) -> None:
    out = tmp_path / "creds"
    done = _credentials("--out", str(out), "--fleet", "0:3,1000:1", "--devices", "lab-7")
    assert done.returncode == 0, done.stderr
    layout = PkiLayout(out)
    assert layout.device_ids() == sorted(
        ["phone-0000", "watch-0001", "assistant-0002", "watch-1000", "lab-7"]
    )
    assert "created a new CA" in done.stdout
    secrets = (layout.redis_password, layout.webhook_secret, out / "reader.token")
    for secret in (*secrets, out / "operator.token"):
        assert secret.read_text().strip() not in done.stdout + done.stderr
    again = _credentials("--out", str(out), "--fleet", "0:4")
    assert again.returncode == 0, again.stderr
    assert "kept the existing CA" in again.stdout
    assert "phone-0003.pem" in again.stdout
    assert "wrote 2 files" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--devices", "bad/id"], "device id 'bad/id' is not"),
        (["--devices", "ok,.x"], "device id '.x' is not"),
        (["--fleet", "0-19"], "'0-19' is not FIRST:COUNT"),
        (["--fleet", "5:0"], "'5:0' is not FIRST:COUNT"),
        (["--kind", "tablet", "--fleet", "0:1"], "invalid choice: 'tablet'"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, args: list[str], message: str) -> None:
    done = _credentials("--out", str(tmp_path / "creds"), *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert not (tmp_path / "creds" / "ca.pem").exists()


def test_out_must_be_a_folder_and_is_required(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("")
    done = _credentials("--out", str(file))
    assert done.returncode == 1
    assert "is not a directory" in done.stderr
    assert "--out" in _credentials().stderr


def test_device_identity_is_the_device_uri_only() -> None:
    sans = [b"urn:nser:device:phone-0001"]
    assert device_identity({"x509_subject_alternative_name": sans}) == "phone-0001"
    assert device_identity({"x509_subject_alternative_name": [b"localhost", b"mec"]}) is None
    assert device_identity({"x509_common_name": [b"phone-0001"]}) is None
    two = [b"urn:nser:device:a", b"urn:nser:device:b"]
    assert device_identity({"x509_subject_alternative_name": two}) is None


def test_redis_urls_are_redacted_and_passwords_quoted() -> None:
    url = with_password("redis://redis:6379/0", "s3cr/t@")
    assert url == "redis://:s3cr%2Ft%40@redis:6379/0"
    assert redact_url(url) == "redis://:***@redis:6379/0"
    assert redact_url("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert redact_url("redis://h:1/0") == "redis://h:1/0"


def test_redis_with_a_password_refuses_clients_without_it(tmp_path: Path) -> None:
    server = RedisChild(free_port(), tmp_path, password="s3cret-pass")
    server.start()
    try:
        assert server.client().ping()
        assert redis.Redis.from_url(server.url).ping()
        with pytest.raises(redis.AuthenticationError):
            # No retries: redis-py retries an AuthenticationError (a ConnectionError) with
            # backoff by default, which only delays the same refusal by seconds.
            redis.Redis(port=server.port, retry=Retry(NoBackoff(), 0)).ping()
        assert "s3cret-pass" not in " ".join(server.args)  # not on the command line
        assert "s3cret-pass" not in server.safe_url
    finally:
        server.stop()


def test_a_corrupt_ca_is_named_not_a_traceback(tmp_path: Path) -> None:
    create_dev_pki(tmp_path, [])
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        create_dev_pki(tmp_path, ["phone-0001"])
