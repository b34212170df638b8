"""The errors of nser up, beside those of nser_shared.errors."""

from __future__ import annotations

from nser_shared.errors import ChildProcessError


class InterruptedRunError(Exception):
    """SIGINT or SIGTERM arrived: stop everything and say so."""


class CrashLoopError(ChildProcessError):
    """A service kept dying: restarting it again would not help."""
