"""The REST services' event loop: uvloop, whose TLS transport lets go of the connections the
server closes (asyncio's own kept about 170 KiB of each on Python 3.11; docs/soak.md)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
import uvloop
from fastapi import FastAPI

from nser_shared.http import service


def test_serve_runs_uvicorn_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    loops: list[type] = []

    async def record_loop(self: object, sockets: object = None) -> None:
        loops.append(type(asyncio.get_running_loop()))

    monkeypatch.setattr(service._Server, "serve", record_loop)
    settings = SimpleNamespace(host="127.0.0.1", port=0, insecure=True)
    assert service.serve(FastAPI, "test", settings, {}) == 0
    assert loops == [uvloop.Loop]
