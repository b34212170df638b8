"""Fixtures shared by the whole suite (helpers live in tests/support/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import RedisChild, free_port


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisChild]:
    server = RedisChild(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
