"""The REST services' /docs pages work on an isolated network: every asset is served locally."""

import re

import httpx
import pytest
from fastapi import FastAPI
from support.http import UvicornThread
from support.processes import RedisChild
from support.tokens import TOKENS_PATH

from nser_decision.api import create_app as decision_app
from nser_decision.settings import DecisionSettings
from nser_nwdaf.app import create_app as nwdaf_app
from nser_nwdaf.settings import NwdafSettings


def _app(service: str, redis_url: str) -> FastAPI:
    if service == "decision":
        return decision_app(DecisionSettings(redis_url=redis_url, tokens_file=TOKENS_PATH))
    return nwdaf_app(NwdafSettings(redis_url=redis_url, tokens_file=TOKENS_PATH, notify_secret="k"))


@pytest.mark.parametrize("service", ["decision", "nwdaf"])
def test_docs_page_loads_only_local_assets(service: str, redis_server: RedisChild) -> None:
    with UvicornThread(_app(service, redis_server.url)) as server:
        page = httpx.get(f"{server.url}/docs", timeout=10)
        assert page.status_code == 200
        assert "swagger-ui" in page.text
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
        assert len(urls) >= 3, page.text  # the script, the style sheet, the OpenAPI document
        for url in urls:
            assert url.startswith("/"), f"{url} is not served by the service itself"
            assert httpx.get(f"{server.url}{url}", timeout=10).status_code == 200, url
        assert httpx.get(f"{server.url}/redoc", timeout=10).status_code == 404  # CDN only: off
