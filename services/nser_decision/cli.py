"""`nser decision` (and `python -m nser_decision`): the decision service, until SIGTERM/SIGINT.

nser decision                        # REST on :8081, reading nser:results from REDIS_URL
NSER_DECISION_WEBHOOKS='{"police": "http://127.0.0.1:9000/police"}' nser decision
"""

from __future__ import annotations

import argparse

import uvicorn

from nser_decision import settings
from nser_decision.api import create_app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    config = settings.resolve(args)
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="info",
        timeout_graceful_shutdown=10,
    )
    return 0
