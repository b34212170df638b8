"""Fixtures of the analytics service's tests (helpers: nwdaf_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nwdaf_support import Receiver, ServedApp, fast_settings
from support.processes import RedisChild, free_port


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


@pytest.fixture
def nwdaf(redis_server: RedisChild) -> Iterator[ServedApp]:
    served = ServedApp(fast_settings(redis_server.url)).start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def shared_nwdaf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """One Redis and one service for a whole module of tests that do not disturb each other."""
    workdir: Path = tmp_path_factory.mktemp("redis")
    server = RedisChild(free_port(), workdir)
    server.start()
    served = ServedApp(fast_settings(server.url)).start()
    try:
        yield served
    finally:
        served.stop()
        server.stop()
