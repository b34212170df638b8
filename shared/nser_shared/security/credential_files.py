"""Reading the credential files `nser credentials` writes (certificates, keys, one-line
secrets), with errors that say which file should be what. Free of the cryptography package, so
services that only read a secret need not import it."""

from __future__ import annotations

from pathlib import Path

from nser_shared.errors import ConfigurationError

CREDENTIALS_HINT = "make them with `nser credentials --out DIR --devices ID,...`"


def read_file(path: str | Path, what: str) -> bytes:
    """The bytes of `path`, or ConfigurationError naming `what` it should be and the fault."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(f"{what} {path} does not exist ({CREDENTIALS_HINT})") from None
    except OSError as exc:
        raise ConfigurationError(f"{what} {path}: cannot read: {exc.strerror}") from None
    if not data.strip():
        raise ConfigurationError(f"{what} {path} is empty")
    return data


def read_secret(path: str | Path, what: str) -> str:
    """A one-line secret (a password, a token) from `path`, surrounding whitespace stripped."""
    text = read_file(path, what).decode("utf-8", errors="replace").strip()
    if any(c.isspace() for c in text):
        raise ConfigurationError(f"{what} {path} must be one line without spaces")
    return text
