"""The admin layout: nav by role, the language switch and its cookie, escaped names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.responses import Response

from admin.access import Principal
from admin.i18n import translator
from admin.rendering import language_of, render


def layout_app(principal: Principal | None) -> FastAPI:
    app = FastAPI()

    @app.get("/admin")
    async def page(request: Request) -> Response:
        # the layout alone, under the dashboard's title (the dashboard itself needs a database)
        request.state.principal = principal
        title = translator(language_of(request))("dashboard.title")
        return render(request, "refused.html", {"heading": title, "message": ""})

    return app


@pytest.fixture
async def viewer_client() -> AsyncIterator[httpx.AsyncClient]:
    app = layout_app(Principal(kind="user", id=1, name="<b>ann</b>", role="viewer"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_layout_follows_the_browser_language(viewer_client: httpx.AsyncClient) -> None:
    page = await viewer_client.get("/admin", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "<title>Dashboard · cxbot admin</title>" in page.text
    chinese = await viewer_client.get("/admin", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-CN">' in chinese.text and "概览" in chinese.text


async def test_a_chosen_language_is_remembered_in_a_cookie(
    viewer_client: httpx.AsyncClient,
) -> None:
    chosen = await viewer_client.get("/admin?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "cxbot_lang=en" in chosen.headers["set-cookie"]
    assert "HttpOnly" in chosen.headers["set-cookie"]
    later = await viewer_client.get("/admin", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in later.text
    assert 'href="/admin?lang=zh"' in later.text


async def test_a_viewer_sees_no_admin_links_and_names_are_escaped(
    viewer_client: httpx.AsyncClient,
) -> None:
    page = await viewer_client.get("/admin?lang=en")
    assert "/admin/users" not in page.text and "/admin/conversations" not in page.text
    assert "<b>ann</b>" not in page.text
    assert "&lt;b&gt;ann&lt;/b&gt;" in page.text
    assert 'action="/admin/logout"' in page.text


async def test_an_admin_sees_every_link() -> None:
    app = layout_app(Principal(kind="user", id=1, name="root", role="admin"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/admin")
    for link in ("/admin/conversations", "/admin/users", "/admin/tokens"):
        assert f'href="{link}"' in page.text
    assert 'aria-current="page"' in page.text


async def test_cxbot_serves_the_admin_stylesheet(client: httpx.AsyncClient) -> None:
    css = await client.get("/admin/static/admin.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
