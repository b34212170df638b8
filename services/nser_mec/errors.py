"""The errors of nser_mec; each derives from NserError (nser_shared.errors)."""

from __future__ import annotations

from nser_shared.errors import NserError, QueueFullError


class ResultsStreamUnavailableError(NserError):
    """The results stream did not take a result in time: the window is not acknowledged, and
    the device should send it again after a backoff."""


class NotReadyError(NserError):
    """The server is still loading its models, or shutting down."""


class IdentityMismatchError(NserError):
    """A window whose device id is not the device its sender's client certificate names."""


class DeviceRateLimitedError(QueueFullError):
    """A device sent more windows than its rate allows; `retry_after_s` says when to retry."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
