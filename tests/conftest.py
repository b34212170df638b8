"""Fixtures shared by the whole suite (helpers live in tests/support/)."""

from __future__ import annotations

import os

# Before anything imports gRPC: the tests start children by fork and exec while gRPC is in use
# (services/nser_up/processes.py says why its fork handlers are off).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.pki import make_pki
from support.processes import RedisChild, free_port

from nser_shared.security.dev_pki import PkiLayout


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisChild]:
    server = RedisChild(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiLayout:
    """The session's development PKI (CA, services' and devices' certificates, Redis password,
    API tokens), made once: EC P-256 keys take milliseconds."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiLayout:
    """Another CA with the same names: its certificates must be refused by `dev_pki`'s servers."""
    return make_pki(tmp_path_factory.mktemp("foreign-pki"))
