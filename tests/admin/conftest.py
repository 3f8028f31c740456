"""Admin test helpers: users stored with real argon2 hashes, and a browser-like client that
keeps its cookies, reads the CSRF token from the page and signs in through the form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from admin import passwords
from admin.passwords import hash_now
from storage import users
from storage.writes import Writer
from tests.conftest import START

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LIGHT = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""argon2id with small costs: the same code paths, a hundredth of the CPU (the default
parameters are checked in test_passwords.py)."""


@pytest.fixture(autouse=True)
def light_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", LIGHT)
    passwords._dummy_hash.cache_clear()


async def add_user(app: FastAPI, name: str, role: str, password: str = PASSWORD) -> int:
    """Store a user the way `cxbot users add` does; their id."""
    writer: Writer = app.state.admin_auth.writer
    async with writer.transaction() as session:
        user = await users.add_user(
            session=session, name=name, role=role, password_hash=hash_now(password), now=START
        )
    assert user.id is not None
    return user.id


class Visitor:
    """One browser: its own cookie jar, the CSRF token of the last page it read."""

    def __init__(self, app: FastAPI, base_url: str = "http://testserver") -> None:
        self.app = app
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 50000)),
            base_url=base_url,
        )
        self.csrf = ""

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = await self.http.get(path, **kwargs)  # type: ignore[arg-type]
        found = CSRF.search(response.text)
        if found:
            self.csrf = found[1]
        return response

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **kwargs: object
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        response = await self.http.post(path, data=form, **kwargs)  # type: ignore[arg-type]
        found = CSRF.search(response.text)
        if found:
            self.csrf = found[1]
        return response

    async def sign_in(self, name: str, password: str = PASSWORD, next: str = "") -> httpx.Response:
        await self.get("/admin/login")
        return await self.post("/admin/login", {"name": name, "password": password, "next": next})

    async def close(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def visitors(app: FastAPI) -> AsyncIterator[list[Visitor]]:
    """Make browsers with `visitors.append(Visitor(app))`; all closed at the end."""
    made: list[Visitor] = []
    yield made
    for visitor in made:
        await visitor.close()


@pytest.fixture
async def signed_in(app: FastAPI, visitors: list[Visitor]) -> dict[str, Visitor]:
    """A signed-in browser per role (users ann: admin, bo: agent, cy: viewer)."""
    result: dict[str, Visitor] = {}
    for name, role in (("ann", "admin"), ("bo", "agent"), ("cy", "viewer")):
        await add_user(app, name, role)
        visitor = Visitor(app)
        visitors.append(visitor)
        response = await visitor.sign_in(name)
        assert response.status_code == 303, response.text
        await visitor.get("/admin")  # the CSRF token of the new session
        result[role] = visitor
    anonymous = Visitor(app)
    visitors.append(anonymous)
    await anonymous.get("/admin/login")
    result["anonymous"] = anonymous
    return result
