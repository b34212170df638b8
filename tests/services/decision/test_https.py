"""The REST services over HTTPS (real `python -m nser_decision` / `nser_nwdaf` processes with the
session's dev PKI), and their refusal to start without TLS files unless --insecure."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.processes import RedisChild, free_port

from nser_shared.security.dev_pki import PkiLayout
from nser_shared.security.tokens import TOKENS_FILE
from nser_up.network import SIGNING_KEY_OPTION
from nser_up.processes import HttpServiceChild, client_ssl_context, tls_args


@pytest.mark.parametrize("module", ["nser_decision", "nser_nwdaf"])
def test_the_service_answers_https_verified_by_the_dev_ca_only(
    module: str, redis_server: RedisChild, dev_pki: PkiLayout, tmp_path: Path
) -> None:
    port = free_port()
    args = ["--port", str(port), *tls_args(dev_pki), "--tokens-file",
            str(dev_pki.root / TOKENS_FILE), SIGNING_KEY_OPTION[module],
            str(dev_pki.webhook_secret)]  # fmt: skip
    env = {"REDIS_URL": redis_server.url}
    child = HttpServiceChild(module, args, tmp_path / "service.log", port, dev_pki.ca_cert, env)
    child.start()  # ready: /readyz answered 200 over HTTPS, verified against the dev CA
    try:
        assert child.url.startswith("https://")
        reply = httpx.get(f"{child.url}/metrics", verify=client_ssl_context(dev_pki.ca_cert))
        assert reply.status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{child.url}/readyz", verify=ssl.create_default_context())  # system CAs
        with pytest.raises(httpx.HTTPError):  # plaintext to the HTTPS port
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    finally:
        child.stop()


@pytest.mark.parametrize(("module", "env"), [("nser_decision", "NSER_DECISION_TLS_CERT"),
                                             ("nser_nwdaf", "NSER_NWDAF_TLS_CERT")])  # fmt: skip
def test_the_service_refuses_to_start_without_tls_files_or_insecure(
    module: str, env: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "serves TLS only" in done.stderr
    assert env in done.stderr
    assert "nser credentials" in done.stderr
    assert "--insecure" in done.stderr
