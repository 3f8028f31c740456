"""Security headers on every response; the API docs only on request; the favicon."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cxbot.app import create_app
from cxbot.settings import Settings

PATHS = [
    "/",
    "/chat/nps",
    "/chat/nps/messages",
    "/chat/nope",
    "/healthz",
    "/static/chat.js",
    "/favicon.ico",
    "/openapi.json",
    "/no-such-page",
]


@asynccontextmanager
async def serving(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings.model_copy(update=changes))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def directives(policy: str) -> dict[str, str]:
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in policy.split(";"))}


@pytest.mark.parametrize("path", PATHS)
async def test_every_response_has_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    if path.startswith("/chat/"):
        assert policy["frame-ancestors"] == "*"  # embedding as docs/webchat.md describes
        assert "x-frame-options" not in response.headers
    else:
        assert policy["frame-ancestors"] == "'none'"
        assert response.headers["x-frame-options"] == "DENY"


async def test_frame_ancestors_comes_from_the_setting(app_settings: Settings) -> None:
    sites = "'self'  https://www.example.com"
    async with serving(app_settings, frame_ancestors=sites) as client:
        chat = await client.get("/chat/nps")
        index = await client.get("/")
    assert directives(chat.headers["content-security-policy"])["frame-ancestors"] == sites
    assert directives(index.headers["content-security-policy"])["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("value", ["'self'; script-src *", "a,b", "", "x\ny"])
def test_frame_ancestors_is_one_source_list(value: str) -> None:
    with pytest.raises(ValueError, match="frame_ancestors is one CSP source list"):
        Settings(_env_file=None, frame_ancestors=value)  # type: ignore[call-arg]


async def test_the_pages_have_no_inline_script_or_style(client: httpx.AsyncClient) -> None:
    for path in ("/", "/chat/nps", "/chat/nope"):
        html = (await client.get(path)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert "<style" not in html and " style=" not in html, path
        assert not re.search(r"\son\w+=", html), path  # no inline event handlers


async def test_api_docs_are_off_by_default_and_openapi_stays(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 404
    assert (await client.get("/redoc")).status_code == 404
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["paths"]


async def test_api_docs_on_request_with_their_own_policy(app_settings: Settings) -> None:
    async with serving(app_settings, api_docs=True) as client:
        for path in ("/docs", "/redoc"):
            page = await client.get(path)
            assert page.status_code == 200
            policy = directives(page.headers["content-security-policy"])
            assert policy["frame-ancestors"] == "'none'"
            for script in re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL):
                digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in policy["script-src"]
            assert "'unsafe-inline'" not in policy["script-src"]


async def test_the_favicon_is_served_and_linked(client: httpx.AsyncClient) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
    for path in ("/", "/chat/nps", "/chat/nope"):
        html = (await client.get(path)).text
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
