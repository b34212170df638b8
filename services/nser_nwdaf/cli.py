"""`nser nwdaf` (and `python -m nser_nwdaf`): run the analytics service until SIGTERM/SIGINT.

nser nwdaf --tls-cert creds/server.pem --tls-key creds/server.key   # Nnwdaf APIs etc. on :8082
nser nwdaf --port 9000 --short-window-seconds 5 --abnormal-factor 4
"""

from __future__ import annotations

import argparse
from functools import partial

from nser_nwdaf import settings
from nser_nwdaf.app import create_app
from nser_shared.http.service import serve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    config = settings.resolve(args)
    return serve(partial(create_app, config), "nser_nwdaf", config, settings.SETTINGS)
