"""Signed notifications: a receiver can check that a decision webhook or an NWDAF notification
came from this deployment.

Header `X-Nser-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over `<t>.` followed by the
exact body bytes, keyed with the shared secret (`webhook.secret` of `nser credentials`). The
timestamp lets a receiver refuse replays older than its tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from nser_shared.security.credential_files import read_secret

HEADER = "X-Nser-Signature"


def signing_key(secret: str, secret_file: str) -> str:
    """The HMAC key: `secret`, else the one line of `secret_file`; empty when neither is set."""
    if secret or not secret_file:
        return secret
    return read_secret(secret_file, "notification signing secret")


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, header: str, body: bytes, tolerance_s: float = 300.0) -> bool:
    """Whether `header` signs `body` with `secret`, no older (or newer) than `tolerance_s`."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, t), header)
