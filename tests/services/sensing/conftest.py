"""Fixtures of the sensing tests: a fake MEC on a loopback port (see fake_mec.py), plaintext, so
every `nser sense` here runs as if given --insecure (NSER_SENSE_INSECURE; mutual TLS against a
real MEC is tested in services/mec/test_mtls.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_mec import FakeMec, serve_fake_mec

from nser_sensing.transport import SETTINGS


@pytest.fixture(autouse=True)
def _plaintext_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTINGS["insecure"].env, "true")


@pytest.fixture
def fake_mec() -> Iterator[FakeMec]:
    with serve_fake_mec() as fake:
        yield fake
