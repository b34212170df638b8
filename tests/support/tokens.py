"""API tokens for the tests: one dev set (`write_dev_tokens`) per test session, so every test
of the REST services goes through the real bearer-token check."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from nser_shared.security.tokens import TOKENS_FILE, Role, write_dev_tokens

TOKENS_DIR = Path(tempfile.mkdtemp(prefix="nser-test-tokens-"))
atexit.register(shutil.rmtree, TOKENS_DIR, ignore_errors=True)
TOKENS = write_dev_tokens(TOKENS_DIR)
TOKENS_PATH = str(TOKENS_DIR / TOKENS_FILE)


def bearer(role: Role = Role.OPERATOR) -> dict[str, str]:
    """The Authorization header of `role`'s token (operator by default: it may do everything)."""
    return {"Authorization": f"Bearer {TOKENS[role]}"}
