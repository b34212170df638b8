"""Run one service's start-up code; tests/deploy runs it with `python -S` and a PYTHONPATH of a
site folder holding only the packages the service's image installs (lean_site.py):

    python -S tests/deploy/lean_probe.py decision

Exits 0 once the service got as far as it can without its peers (app built and its server
configured, models loaded and served, a window framed); a traceback names a missing package.
"""

from __future__ import annotations

import sys


def decision() -> None:
    import uvicorn

    from nser_decision.api import create_app
    from nser_decision.settings import resolve

    uvicorn.Config(create_app(resolve(environ={})), port=0).load()


def nwdaf() -> None:
    import uvicorn

    from nser_nwdaf.app import create_app
    from nser_nwdaf.settings import resolve

    uvicorn.Config(create_app(resolve(environ={})), port=0).load()


def mec() -> None:
    import asyncio

    from nser_mec.server import MecServer
    from nser_mec.settings import MecSettings

    async def start_and_stop() -> None:
        # Nothing listens on port 1: the results publisher buffers, the server still serves.
        settings = MecSettings(port=0, metrics_port=0, redis_url="redis://127.0.0.1:1/0")
        server = MecServer(settings)
        await server.start()
        await server.stop()

    asyncio.run(start_and_stop())


def sensing() -> None:
    import importlib
    import pkgutil

    import nser_sensing
    from nser_sensing.devices import WindowFramer, build_devices

    for info in pkgutil.iter_modules(nser_sensing.__path__):
        if info.name not in ("__main__", "payload_report"):  # payload_report: a host tool
            importlib.import_module(f"nser_sensing.{info.name}")
    (device,) = build_devices(1, scene="assault", seconds=3.0)
    framer = WindowFramer()
    framer.frame(device.track, framer.spans(device.track)[0])


PROBES = {"decision": decision, "nwdaf": nwdaf, "mec": mec, "sensing": sensing}

if __name__ == "__main__":
    PROBES[sys.argv[1]]()
