"""Signing in and out: the session cookie, rotation, sign-out that really ends the session,
no open redirect, escaped names, and the sign-in limit that holds across processes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from admin import passwords
from cxbot.app import create_app
from cxbot.settings import Settings
from storage import users
from tests.admin.conftest import PASSWORD, Visitor, add_user
from tests.conftest import Clock


async def test_signing_in_sets_a_signed_http_only_lax_cookie(
    app: FastAPI, visitors: list[Visitor]
) -> None:
    await add_user(app, "ann", "viewer")
    visitor = Visitor(app)
    visitors.append(visitor)
    response = await visitor.sign_in("ann")
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("cxbot_admin=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "Max-Age=43200" in cookie  # CXBOT_ADMIN_SESSION_HOURS=12
    assert "secure" not in cookie.lower()  # plain http: the browser would never send it back
    assert "Signed in as ann" in (await visitor.get("/admin?lang=en")).text


async def test_over_https_the_cookie_is_secure(app: FastAPI, visitors: list[Visitor]) -> None:
    await add_user(app, "ann", "viewer")
    visitor = Visitor(app, base_url="https://testserver")
    visitors.append(visitor)
    response = await visitor.sign_in("ann")
    assert "secure" in response.headers["set-cookie"].lower()


async def test_a_wrong_password_and_an_unknown_name_read_the_same(
    app: FastAPI, visitors: list[Visitor]
) -> None:
    await add_user(app, "ann", "viewer")
    visitor = Visitor(app)
    visitors.append(visitor)
    wrong = await visitor.sign_in("ann", "not the password")
    unknown = await visitor.sign_in("nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert "用户名或密码不正确" in wrong.text and "用户名或密码不正确" in unknown.text
    assert (await visitor.get("/admin")).status_code == 303


async def test_the_session_is_rotated_at_sign_in(app: FastAPI, visitors: list[Visitor]) -> None:
    await add_user(app, "ann", "admin")
    visitor = Visitor(app)
    visitors.append(visitor)
    await visitor.get("/admin/login")
    planted = dict(visitor.http.cookies)
    before = visitor.csrf
    await visitor.post("/admin/login", {"name": "ann", "password": PASSWORD})
    assert dict(visitor.http.cookies) != planted
    refused = await visitor.post(
        "/admin/users", {"name": "x", "role": "admin", "password": "p" * 12, "csrf_token": before}
    )
    assert refused.status_code == 403  # the token from before sign-in is gone


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(
    app: FastAPI, visitors: list[Visitor]
) -> None:
    await add_user(app, "ann", "admin")
    visitor = Visitor(app)
    visitors.append(visitor)
    await visitor.sign_in("ann")
    await visitor.get("/admin")
    copied = dict(visitor.http.cookies)
    bye = await visitor.post("/admin/logout")
    assert bye.status_code == 303 and bye.headers["location"] == "/admin/login?bye=1"
    said = await visitor.get("/admin/login?bye=1", headers={"Accept-Language": "en"})
    assert "You have signed out." in said.text and "session has ended" not in said.text
    assert (await visitor.get("/admin")).status_code == 303
    thief = Visitor(app)
    visitors.append(thief)
    thief.http.cookies.update(copied)
    assert (await thief.get("/admin")).status_code == 303


async def test_signing_in_again_ends_the_session_the_cookie_held(
    app: FastAPI, visitors: list[Visitor]
) -> None:
    """A second sign-in in the same browser (bo on ann's forgotten session) replaced the
    cookie but left ann's session alive for hours behind any copy of the old cookie."""
    await add_user(app, "ann", "admin")
    await add_user(app, "bo", "viewer")
    browser = Visitor(app)
    visitors.append(browser)
    await browser.sign_in("ann")
    await browser.get("/admin")
    copied = dict(browser.http.cookies)
    again = await browser.post("/admin/login", {"name": "bo", "password": PASSWORD})
    assert again.status_code == 303
    assert (await browser.get("/admin/users")).status_code == 403  # bo now
    thief = Visitor(app)
    visitors.append(thief)
    thief.http.cookies.update(copied)
    assert (await thief.get("/admin/users")).status_code == 303


async def test_a_session_expires(app: FastAPI, visitors: list[Visitor]) -> None:
    clock = Clock()
    app.state.admin_auth.clock = clock
    await add_user(app, "ann", "viewer")
    visitor = Visitor(app)
    visitors.append(visitor)
    await visitor.sign_in("ann")
    clock.advance(hours=11, minutes=59)
    assert (await visitor.get("/admin")).status_code == 200
    clock.advance(minutes=2)
    assert (await visitor.get("/admin")).status_code == 303
    again = await visitor.get("/admin/login", headers={"Accept-Language": "en"})
    assert "Your session has ended; please sign in again." in again.text


@pytest.mark.parametrize(
    ("next", "lands"),
    [
        ("/admin/users?x=1", "/admin/users?x=1"),
        ("//evil.example/", "/admin"),
        ("https://evil.example/", "/admin"),
        ("/\\evil.example", "/admin"),
        ("javascript:alert(1)", "/admin"),
        ("/\t/evil.example", "/admin"),
        ("", "/admin"),
    ],
)
async def test_next_only_leads_to_a_page_of_this_server(
    app: FastAPI, visitors: list[Visitor], next: str, lands: str
) -> None:
    await add_user(app, "ann", "admin")
    visitor = Visitor(app)
    visitors.append(visitor)
    await visitor.get("/admin/login", params={"next": next})
    response = await visitor.post(
        "/admin/login", {"name": "ann", "password": PASSWORD, "next": next}
    )
    assert response.status_code == 303
    assert response.headers["location"] == lands


async def test_a_user_name_is_shown_as_text(app: FastAPI, visitors: list[Visitor]) -> None:
    evil = "<script>alert(1)</script>"
    await add_user(app, evil, "admin")
    visitor = Visitor(app)
    visitors.append(visitor)
    assert (await visitor.sign_in(evil)).status_code == 303
    for path in ("/admin", "/admin/users"):
        page = await visitor.get(path)
        assert evil not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_an_outdated_hash_is_replaced_at_sign_in(
    app: FastAPI, visitors: list[Visitor]
) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    writer = app.state.admin_auth.writer
    async with writer.transaction() as session:
        await users.add_user(
            session=session,
            name="ann",
            role="viewer",
            password_hash=old.hash(PASSWORD),
            now=app.state.admin_auth.clock(),
        )
    visitor = Visitor(app)
    visitors.append(visitor)
    assert (await visitor.sign_in("ann")).status_code == 303
    async with writer.transaction() as session:
        user = await users.user_named(session=session, name="ann")
    assert user is not None and "m=512" not in user.password_hash
    assert not passwords.HASHER.check_needs_rehash(user.password_hash)


@contextlib.asynccontextmanager
async def two_servers(settings: Settings) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two app instances (as two processes would be) on one database."""
    assert settings.flows_dir is not None
    settings.flows_dir.mkdir(exist_ok=True)
    first, second = create_app(settings), create_app(settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        yield first, second


@pytest.mark.backends("sqlite", "postgresql")
async def test_the_sign_in_limit_holds_across_two_servers(
    app_settings: Settings, backend: str
) -> None:
    async with two_servers(app_settings) as apps:
        await add_user(apps[0], "ann", "admin")
        browsers = [Visitor(app) for app in apps]
        try:
            for attempt in range(5):  # five wrong guesses, alternating servers
                response = await browsers[attempt % 2].sign_in("ann", f"guess {attempt}")
                assert response.status_code == 400, attempt
            for browser in browsers:  # now even the right password waits
                limited = await browser.sign_in(
                    "ann",
                    PASSWORD,
                )
                assert limited.status_code == 429
                assert int(limited.headers["retry-after"]) >= 300
                assert "登录失败次数过多" in limited.text
                assert "Too many failed sign-ins" in limited.text
            # another user on the same address is not locked out by ann's attempts
            await add_user(apps[1], "bo", "viewer")
            assert (await browsers[1].sign_in("bo")).status_code == 303
            # after the windows pass, ann may try again
            for app in apps:
                clock = Clock(app.state.admin_auth.clock() + timedelta(minutes=11))
                app.state.admin_auth.clock = clock
            assert (await browsers[0].sign_in("ann")).status_code == 303
        finally:
            for browser in browsers:
                await browser.close()


async def test_many_names_from_one_address_are_limited_too(
    app: FastAPI, visitors: list[Visitor]
) -> None:
    visitor = Visitor(app)
    visitors.append(visitor)
    limit = app.state.admin_auth.config.limit
    for attempt in range(limit.per_address):
        response = await visitor.sign_in(f"name-{attempt}", "guess")
        assert response.status_code == 400, attempt
    assert (await visitor.sign_in("one-more", "guess")).status_code == 429


@pytest.mark.backends("sqlite", "postgresql")
async def test_a_limited_address_adds_no_rows(
    app: FastAPI, visitors: list[Visitor], backend: str
) -> None:
    """Refused attempts still stored a window per new name: one address could grow
    `sign_in_attempt` without bound (only a successful sign-in purges it)."""
    from sqlalchemy import func
    from sqlmodel import select

    from storage.models import SignInAttempt

    visitor = Visitor(app)
    visitors.append(visitor)
    limit = app.state.admin_auth.config.limit
    for attempt in range(limit.per_address + 40):
        response = await visitor.sign_in(f"name-{attempt}", "guess")
        assert response.status_code == (400 if attempt < limit.per_address else 429), attempt
    async with app.state.admin_auth.sessions() as session:
        rows = (await session.exec(select(func.count()).select_from(SignInAttempt))).one()
    assert rows <= limit.per_address + 1, rows  # a window per name tried, and the address
