"""Notifications never go to this host, link-local addresses or a metadata service unless
allowed."""

import pytest

from nser_shared.http.outbound import internal_host_reason


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/n",
        "http://127.8.9.10/n",
        "https://localhost/alerts",
        "http://LOCALHOST./x",
        "http://api.localhost/x",
        "http://[::1]:8080/n",
        "http://[::ffff:127.0.0.1]/n",
        "http://0.0.0.0/n",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/n",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
def test_internal_hosts_are_refused_with_a_reason(url: str) -> None:
    reason = internal_host_reason(url, ())
    assert reason is not None
    assert "host" in reason or "link-local" in reason or "metadata" in reason


@pytest.mark.parametrize(
    "url",
    ["https://police.example/alerts", "http://10.0.0.7:8080/n", "https://203.0.113.9/hook"],
)
def test_other_hosts_are_allowed(url: str) -> None:
    assert internal_host_reason(url, ()) is None


def test_an_allowed_host_is_allowed_however_internal() -> None:
    assert internal_host_reason("http://127.0.0.1:9/n", ("127.0.0.1",)) is None
    assert internal_host_reason("http://127.0.0.2:9/n", ("127.0.0.1",)) is not None
