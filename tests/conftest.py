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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test has its own node id, and modules that hold a slow test come first.

    scripts/test.sh runs the suite on two workers that each take whole modules in this order
    (`pytest -n 2 --dist loadfile`), so the long modules start at once rather than last. The
    workers are handed tests by node id, so two tests under one id would run once: schemathesis
    4.32 under pytest 9 names each API operation's test `test_x[GET /path]` but gives them all
    the id `...::test_x`, which is made unique here; any other duplicate stops the run."""
    for item in items:
        if not item.nodeid.endswith(item.name) and item.parent is not None:
            item._id = item.parent.id.child(item.name)  # pytest 9's structured node id
    seen: set[str] = set()
    duplicates = {item.nodeid for item in items if item.nodeid in seen or seen.add(item.nodeid)}
    if duplicates:
        raise pytest.UsageError(f"tests collected twice under one node id: {sorted(duplicates)}")
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: modules keep their own order
