"""Module-scoped Redis and MEC server for the MEC tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.mec import MecProcess
from support.processes import RedisChild, free_port


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisChild]:
    server = RedisChild(free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mec(module_redis: RedisChild, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MecProcess]:
    """One server for the module: student and teacher, default batching."""
    log = tmp_path_factory.mktemp("mec") / "mec.log"
    server = MecProcess(module_redis.url, log, "--models", "student,teacher").wait_serving()
    yield server
    server.terminate()
