"""The errors of nser_decision; each derives from NserError (nser_shared.errors)."""

from __future__ import annotations

from nser_shared.errors import NserError


class FeedFullError(NserError):
    """As many live feed clients as the service serves are connected."""


class AlertNotFoundError(NserError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class IllegalTransitionError(NserError):
    """A status change the alert's lifecycle does not allow (e.g. resolved -> acknowledged)."""


class BadQueryError(NserError, ValueError):
    """A malformed filter, time range or cursor."""
