"""`nser nwdaf` (and `python -m nser_nwdaf`): run the analytics service until SIGTERM/SIGINT.

nser nwdaf --tls-cert creds/server.pem --tls-key creds/server.key   # Nnwdaf APIs etc. on :8082
nser nwdaf --port 9000 --short-window-seconds 5 --abnormal-factor 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from nser_nwdaf import settings
from nser_nwdaf.app import create_app
from nser_shared.tls import server_tls


class Server(uvicorn.Server):
    """uvicorn, stopping gracefully on SIGTERM/SIGINT and then returning, so a clean stop exits
    0 (uvicorn's own handlers re-raise the signal once shut down, which kills the process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def handle_exit(self, sig: int, frame: object) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    s = settings.resolve(args)
    tls = server_tls("nser_nwdaf", s, settings.SETTINGS, plaintext="HTTP is plaintext")
    # log_config=None: logging was configured once by the `nser` entry point.
    config = uvicorn.Config(
        create_app(s),
        host=s.host,
        port=s.port,
        log_config=None,
        ssl_certfile=None if tls is None else str(tls.cert_path),
        ssl_keyfile=None if tls is None else str(tls.key_path),
    )
    asyncio.run(Server(config).serve())
    return 0
