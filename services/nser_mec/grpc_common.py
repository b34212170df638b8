"""What every gRPC adapter of the MEC shares (servicer.py for nser.v1, oip.py for the Open
Inference Protocol): the one map from errors to status codes, the retry hint of a rate-limited
device, and the check that a window's device is the one its sender's certificate names.

Every error a caller can cause is a `NserError`, mapped to a status in `STATUS_BY_ERROR` and
nowhere else; anything else is a bug, logged with its traceback and answered INTERNAL.
"""

from __future__ import annotations

import logging

import grpc

from nser_mec.errors import (
    DeviceRateLimitedError,
    IdentityMismatchError,
    NotReadyError,
    ResultsStreamUnavailableError,
)
from nser_mec.metrics import MecMetrics
from nser_shared.errors import (
    FeatureConfigMismatchError,
    InvalidFeatureWindowError,
    NserError,
    QueueFullError,
    UnknownModelError,
)
from nser_shared.security.tls import DEVICE_URI_PREFIX, device_identity

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[NserError], grpc.StatusCode] = {
    InvalidFeatureWindowError: grpc.StatusCode.INVALID_ARGUMENT,
    UnknownModelError: grpc.StatusCode.NOT_FOUND,
    FeatureConfigMismatchError: grpc.StatusCode.FAILED_PRECONDITION,
    QueueFullError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    NotReadyError: grpc.StatusCode.UNAVAILABLE,
    ResultsStreamUnavailableError: grpc.StatusCode.UNAVAILABLE,
    IdentityMismatchError: grpc.StatusCode.PERMISSION_DENIED,
}


def status_for(error: NserError) -> grpc.StatusCode:
    for kind, code in STATUS_BY_ERROR.items():
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INVALID_ARGUMENT


def retry_metadata(error: NserError) -> tuple[tuple[str, str], ...]:
    """Trailing metadata telling a rate-limited device when to come back (`retry-after-ms`)."""
    if isinstance(error, DeviceRateLimitedError):
        return (("retry-after-ms", str(max(1, round(error.retry_after_s * 1e3)))),)
    return ()


class DeviceIdentity:
    """With `authenticate` (mutual TLS), a window is served only if its device id is the one
    its sender's client certificate names (nser_shared.security.tls.device_identity)."""

    def __init__(self, authenticate: bool, metrics: MecMetrics) -> None:
        self.authenticate = authenticate
        self.metrics = metrics

    def peer(self, context: grpc.aio.ServicerContext) -> str | None:
        """The device the caller's certificate names; None without mutual TLS."""
        return device_identity(context.auth_context()) if self.authenticate else None

    def check(self, device_id: str, peer_device: str | None) -> None:
        """IdentityMismatchError unless the window of `device_id` may come from this caller."""
        if not self.authenticate:
            return
        claimed = device_id[:40]
        if peer_device is None:
            self.metrics.identity_refused.labels("no_device_certificate").inc()
            raise IdentityMismatchError(
                f"window for device {claimed!r} refused: the client certificate names no device "
                f"(a SAN URI {DEVICE_URI_PREFIX}<device id>)"
            )
        if device_id != peer_device:
            self.metrics.identity_refused.labels("device_id_mismatch").inc()
            log.warning("refused a window for %r sent with %r's certificate", claimed, peer_device)
            raise IdentityMismatchError(
                f"window device_id {claimed!r} does not match the client certificate's device "
                f"{peer_device!r}"
            )
