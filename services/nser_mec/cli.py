"""`nser serve` (and `python -m nser_mec`): run the MEC inference service until SIGTERM/SIGINT.

nser serve                                   # student on :50051, metrics on :9101
nser serve --models student,teacher --backend eager --max-batch-size 16
"""

from __future__ import annotations

import argparse
import asyncio

from nser_mec import settings
from nser_mec.server import MecServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    asyncio.run(MecServer(settings.resolve(args)).serve_forever())
    return 0
