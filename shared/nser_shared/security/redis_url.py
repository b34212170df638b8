"""Redis URLs: the password put in, and taken out for anything a person may see."""

from __future__ import annotations

import re
from urllib.parse import quote

from nser_shared.errors import ConfigurationError

_URL_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")


def redact_url(url: str) -> str:
    """`url` with the password of its user-info replaced by ***: safe to log or show."""
    return _URL_PASSWORD.sub(r"\1:***@", url)


def with_password(url: str, password: str) -> str:
    """A redis:// URL with `password` as its user-info (replacing any there)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigurationError(f"not a URL: {redact_url(url)}")
    host = rest.rpartition("@")[2]
    return f"{scheme}://:{quote(password, safe='')}@{host}"
