"""Run one service's start-up code; tests/deploy runs it with `python -S` and a PYTHONPATH of a
site folder holding only the packages the service's image installs (lean_site.py):

    python -S tests/deploy/lean_probe.py decision

Exits 0 once the service got as far as it can without its peers (app built and its server
configured, models loaded and served, a window framed); a traceback names a missing package.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def _pki() -> Path:
    """A development PKI (the credentials job's code) in a temporary folder."""
    from nser_shared.security.dev_pki import create_dev_pki

    return create_dev_pki(Path(tempfile.mkdtemp()) / "pki", ["phone-0000"]).layout.root


def _https_env(service: str) -> dict[str, str]:
    """The secure settings compose gives `service`: TLS, tokens and the signing key."""
    root = _pki()
    key_setting = {"DECISION": "WEBHOOK_SECRET_FILE", "NWDAF": "NOTIFY_SECRET_FILE"}[service]
    return {
        f"NSER_{service}_TLS_CERT": str(root / "server.pem"),
        f"NSER_{service}_TLS_KEY": str(root / "server.key"),
        f"NSER_{service}_TOKENS_FILE": str(root / "api-tokens.json"),
        f"NSER_{service}_{key_setting}": str(root / "webhook.secret"),
    }


def decision() -> None:
    import uvicorn

    from nser_decision.api import create_app
    from nser_decision.settings import SETTINGS, resolve
    from nser_shared.security.tls import server_tls

    settings = resolve(environ=_https_env("DECISION"))
    tls = server_tls("decision", settings, SETTINGS)
    assert tls is not None
    app = create_app(settings)
    uvicorn.Config(app, port=0, ssl_certfile=tls.cert_path, ssl_keyfile=tls.key_path).load()


def nwdaf() -> None:
    import uvicorn

    from nser_nwdaf.app import create_app
    from nser_nwdaf.settings import SETTINGS, resolve
    from nser_shared.security.tls import server_tls

    settings = resolve(environ=_https_env("NWDAF"))
    tls = server_tls("nwdaf", settings, SETTINGS)
    assert tls is not None
    app = create_app(settings)
    uvicorn.Config(app, port=0, ssl_certfile=tls.cert_path, ssl_keyfile=tls.key_path).load()


def mec() -> None:
    import asyncio

    from nser_mec.server import MecServer
    from nser_mec.settings import MecSettings

    async def start_and_stop() -> None:
        # Nothing listens on port 1: the results publisher buffers, the server still serves.
        root = _pki()  # mutual TLS on gRPC, HTTPS on /metrics
        settings = MecSettings(
            port=0,
            metrics_port=0,
            redis_url="redis://127.0.0.1:1/0",
            tls_cert=str(root / "server.pem"),
            tls_key=str(root / "server.key"),
            tls_client_ca=str(root / "ca.pem"),
            onnx_dir=os.environ["NSER_MEC_ONNX_DIR"],  # as the image sets it
        )
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
        if info.name != "__main__":
            importlib.import_module(f"nser_sensing.{info.name}")
    (device,) = build_devices(1, scene="assault", seconds=3.0)
    framer = WindowFramer()
    framer.frame(device.track, framer.spans(device.track)[0])


def credentials() -> None:
    from nser_cli import main

    out = Path(tempfile.mkdtemp()) / "credentials"
    assert main(["credentials", "--out", str(out), "--fleet", "0:2"]) == 0
    assert (out / "devices" / "watch-0001.pem").is_file()


PROBES = {
    "decision": decision,
    "nwdaf": nwdaf,
    "mec": mec,
    "sensing": sensing,
    "credentials": credentials,
}

if __name__ == "__main__":
    PROBES[sys.argv[1]]()
