"""Who may read transcripts: the routes behind the real guards (`access.api_role("agent")`,
`access.page_role("agent")`) and the real authenticator with stored tokens. Viewers see
dashboards only: a 403; nobody signed in: 401 on the API, the sign-in page for pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from admin import access, tokens
from admin.auth import AdminAuth, AuthConfig
from admin.install import install
from admin.transcript_pages import pages_router
from admin.transcripts_api import api_router
from storage.database import Sessions
from storage.writes import Writer
from tests.admin.transcript_data import Interview, store

ROUTES = ["/api/v1/conversations", "/api/v1/conversations/{id}", "/api/v1/answers.csv"]
PAGES = ["/admin/conversations", "/admin/conversations/{id}"]


@pytest.fixture
async def guarded(sessions: Sessions) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    writer = Writer(sessions)
    auth = AdminAuth(sessions=sessions, writer=writer, config=AuthConfig())
    auth.use_key(b"k" * 32)
    app = FastAPI()
    install(app, auth)
    app.include_router(api_router(sessions, agent=access.api_role("agent")))
    app.include_router(pages_router(sessions, agent=access.page_role("agent")))
    now = datetime.now(UTC)
    secrets = {
        role: (await tokens.create(writer, name=role, role=role, now=now, created_by=None)).secret
        for role in ("viewer", "agent", "admin")
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, secrets


async def test_agents_and_admins_read_transcripts_viewers_do_not(
    guarded: tuple[httpx.AsyncClient, dict[str, str]], sessions: Sessions
) -> None:
    client, secrets = guarded
    ref = await store(sessions, Interview(score=3, comment="物流太慢"))
    for route in ROUTES:
        path = route.format(id=ref)
        assert (await client.get(path)).status_code == 401, path
        bad = await client.get(path, headers={"Authorization": "Bearer cxb_nope"})
        assert bad.status_code == 401, path
        viewer = await client.get(path, headers={"Authorization": f"Bearer {secrets['viewer']}"})
        assert viewer.status_code == 403, path
        assert "物流" not in viewer.text
        for role in ("agent", "admin"):
            allowed = await client.get(path, headers={"Authorization": f"Bearer {secrets[role]}"})
            assert allowed.status_code == 200, (path, role)
    for page in PAGES:
        response = await client.get(page.format(id=ref))
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login?next=")
