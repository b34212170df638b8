"""Fixtures of the sensing tests: a fake MEC on a loopback port (see fake_mec.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_mec import FakeMec, serve_fake_mec


@pytest.fixture
def fake_mec() -> Iterator[FakeMec]:
    with serve_fake_mec() as fake:
        yield fake
