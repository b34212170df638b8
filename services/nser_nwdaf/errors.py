"""The analytics service's errors. Each maps to one HTTP status and one TS 29.500 application
error `cause` in `problems.py`, and nowhere else."""

from __future__ import annotations

from collections.abc import Sequence

from nser_shared.errors import NserError


class NwdafError(NserError):
    """Base class; `invalid_params` are (parameter path, reason) pairs for ProblemDetails."""

    def __init__(self, detail: str, invalid_params: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.invalid_params = list(invalid_params)


class InvalidQueryError(NwdafError):
    """A query parameter that is malformed JSON, of the wrong shape, or out of range."""


class InvalidSubscriptionError(NwdafError):
    """A subscription that parses but cannot work (a THRESHOLD without thresholds, ...)."""


class SubscriptionNotFoundError(NwdafError):
    """No subscription has this id (never created, deleted, or ended)."""


class SubscriptionLimitError(NwdafError):
    """As many subscriptions as the service keeps exist already."""
