"""`nser decision` (and `python -m nser_decision`): the decision service, until SIGTERM/SIGINT.

nser decision --tls-cert creds/server.pem --tls-key creds/server.key   # HTTPS on :8081
NSER_DECISION_WEBHOOKS='{"police": "https://police.example/alerts"}' \
    nser decision --webhook-secret-file creds/webhook.secret ...      # signed webhooks
"""

from __future__ import annotations

import argparse
from functools import partial

from nser_decision import settings
from nser_decision.api import create_app
from nser_shared.http.service import serve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    config = settings.resolve(args)
    return serve(partial(create_app, config), "nser_decision", config, settings.SETTINGS)
