"""API tokens: made on the page (shown once) or by the CLI, stored hashed, checked by role on
/api/v1, revoked at once; CXBOT_API_TOKEN as an admin token; the session cookie on the API."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI

from admin import tokens
from admin.access import Principal, api_role
from cxbot.app import create_app
from cxbot.settings import Settings
from tests.admin.conftest import Visitor
from tests.conftest import START

SECRET = re.compile(r'<code class="secret" id="new-token">(cxb_[\w-]+)</code>')
LEGACY = "integration-token-for-tests"


def probe_app(settings: Settings) -> FastAPI:
    """The real app plus three probe routes, one per role (what later /api/v1 routes do)."""
    app = create_app(settings)
    for role in ("viewer", "agent", "admin"):

        async def probe(principal: Principal = Depends(api_role(role))) -> dict[str, str]:  # noqa: B008
            return {"kind": principal.kind, "name": principal.name, "role": principal.role}

        app.add_api_route(f"/api/v1/probe/{role}", probe, methods=["GET", "POST"])
    return app


@pytest.fixture
async def api(app_settings: Settings) -> AsyncIterator[FastAPI]:
    assert app_settings.flows_dir is not None
    app_settings.flows_dir.mkdir(exist_ok=True)
    settings = app_settings.model_copy(update={"api_token": LEGACY})
    settings = Settings.model_validate(settings.model_dump())  # api_token as a SecretStr
    app = probe_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def call(app: FastAPI, path: str, token: str | None, method: str = "GET") -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, headers=headers)


@pytest.mark.backends("sqlite", "postgresql")
async def test_a_token_opens_the_routes_of_its_role_and_below(api: FastAPI, backend: str) -> None:
    made = await tokens.create(
        api.state.admin_auth.writer, name="bi", role="agent", now=START, created_by="ann"
    )
    assert made.secret.startswith("cxb_") and len(made.secret) == 47
    answers = {
        role: await call(api, f"/api/v1/probe/{role}", made.secret)
        for role in ("viewer", "agent", "admin")
    }
    assert answers["viewer"].json() == {"kind": "token", "name": "bi", "role": "agent"}
    assert answers["agent"].status_code == 200
    assert answers["admin"].status_code == 403
    assert answers["admin"].json() == {"detail": "this needs the admin role"}
    legacy = await call(api, "/api/v1/probe/admin", LEGACY)
    assert legacy.json() == {"kind": "token", "name": "CXBOT_API_TOKEN", "role": "admin"}


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer cxb_not-a-token", "Basic YW5uOnB3", "Bearer " + "x" * 5000],
)
async def test_no_or_a_wrong_token_is_401_with_a_bearer_challenge(
    api: FastAPI, backend: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/probe/viewer", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.backends("sqlite", "postgresql")
async def test_a_revoked_token_stops_working_at_once(api: FastAPI, backend: str) -> None:
    made = await tokens.create(
        api.state.admin_auth.writer, name="bi", role="viewer", now=START, created_by=None
    )
    assert (await call(api, "/api/v1/probe/viewer", made.secret)).status_code == 200
    from storage import api_tokens

    async with api.state.admin_auth.writer.transaction() as session:
        assert made.stored.id is not None
        await api_tokens.revoke(session=session, token_id=made.stored.id, now=START)
    assert (await call(api, "/api/v1/probe/viewer", made.secret)).status_code == 401


async def test_the_page_shows_a_new_token_once_and_stores_only_its_hash(
    api: FastAPI, db_path: Path
) -> None:
    from tests.admin.conftest import add_user

    await add_user(api, "ann", "admin")
    admin = Visitor(api)
    try:
        await admin.sign_in("ann")
        await admin.get("/admin/tokens")
        created = await admin.post("/admin/tokens", {"name": "<i>bi</i>", "role": "viewer"})
        assert created.status_code == 200
        secret = SECRET.search(created.text)
        assert secret is not None
        assert "&lt;i&gt;bi&lt;/i&gt;" in created.text and "<i>bi</i>" not in created.text
        listed = await admin.get("/admin/tokens")
        assert secret[1] not in listed.text and secret[1][:12] in listed.text
        with sqlite3.connect(db_path) as db:
            rows = db.execute("SELECT token_hash, prefix, created_by FROM api_token").fetchall()
        assert rows == [(hashlib.sha256(secret[1].encode()).hexdigest(), secret[1][:12], "ann")]
        assert (await call(api, "/api/v1/probe/viewer", secret[1])).status_code == 200
        (token_id,) = re.findall(r'data-token="(\d+)"', listed.text)
        revoked = await admin.post(f"/admin/tokens/{token_id}/revoke")
        assert revoked.status_code == 303
        assert "revoked" in (await admin.get("/admin/tokens?lang=en")).text
        assert (await call(api, "/api/v1/probe/viewer", secret[1])).status_code == 401
    finally:
        await admin.close()


async def test_the_session_cookie_works_on_the_api_with_csrf_for_changes(api: FastAPI) -> None:
    from tests.admin.conftest import add_user

    await add_user(api, "bo", "agent")
    agent = Visitor(api)
    try:
        await agent.sign_in("bo")
        await agent.get("/admin")
        read = await agent.http.get("/api/v1/probe/agent")
        assert read.json() == {"kind": "user", "name": "bo", "role": "agent"}
        assert (await agent.http.get("/api/v1/probe/admin")).status_code == 403
        assert (await agent.http.post("/api/v1/probe/agent")).status_code == 403  # no CSRF
        changed = await agent.http.post("/api/v1/probe/agent", headers={"X-CSRF-Token": agent.csrf})
        assert changed.status_code == 200
        await agent.post("/admin/logout")
        assert (await agent.http.get("/api/v1/probe/viewer")).status_code == 401
    finally:
        await agent.close()
