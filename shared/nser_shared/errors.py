"""The nser error hierarchy.

Every error a user can cause derives from `NserError`, so entry points (the CLI, and later the
gRPC interceptor and HTTP exception handlers) map one base class to one clear message or status.
"""


class NserError(Exception):
    """Base class of every error nser raises on purpose."""


class InvalidAudioError(NserError, ValueError):
    """Audio that the front end cannot turn into features (empty, NaN, wrong rank, bad rate)."""


class FeatureConfigMismatchError(NserError):
    """A checkpoint or feature window was made with a different front-end configuration."""


class SceneError(NserError):
    """An unknown scene, or an audio source that is missing or unreadable."""


class DatasetError(NserError):
    """A data set directory or manifest is missing, malformed or unusable for the task."""


class CheckpointError(NserError):
    """A checkpoint file is missing, corrupt or not a nser checkpoint."""


class UnknownModelError(NserError, KeyError):
    """A model name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidFeatureWindowError(NserError, ValueError):
    """A feature window that is malformed: shape, dtype, byte length, values or metadata."""


class QueueFullError(NserError):
    """The inference service's bounded queue is full: the caller should back off and retry."""


class InvalidResultRecordError(NserError, ValueError):
    """An entry of the results stream that cannot be decoded into a result record."""


class ConfigurationError(NserError, ValueError):
    """A setting (command-line option or environment variable) with a value that cannot work."""


class ChildProcessError(NserError):
    """A child process could not be started, or died before it was ready."""


class AccessDeniedError(NserError):
    """A REST request without a valid token (401) or with a token whose role is too low (403);
    `headers` carry the challenge (nser_shared.http.auth)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers
