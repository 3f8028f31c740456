"""The running app: health when the database is gone, flow files reloaded in the
background, idle interviews closed in the background."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

import cxbot.app
from bot.visitors import VisitorIds
from cxbot.app import Runtime, create_app
from cxbot.settings import Settings
from flows.registry import BUILTIN_DIR
from tests.conftest import Clock

NPS_SOURCE = (BUILTIN_DIR / "nps.yaml").read_text(encoding="utf-8")
BUILTIN_TITLE = "Would you recommend us?"
KEY = "Kq3-8vTz_Lm2Xc9WbN4yR6pHs1Jd7fGa"


def nps_named(title: str) -> str:
    """A copy of the shipped nps flow as `own_nps`, with another English name (the page's
    <title>)."""
    assert BUILTIN_TITLE in NPS_SOURCE
    return (
        NPS_SOURCE.replace(BUILTIN_TITLE, title)
        .replace("id: nps", "id: own_nps")
        .replace("[评价, 反馈, feedback]", "[门店]")
        .replace("[/feedback]", "[/store]")
    )


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield app, c


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> bool:
    """Poll `check` until it holds or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return await check()


async def title(client: httpx.AsyncClient) -> str:
    page = await client.get("/chat/own_nps", params={"lang": "en"})
    assert page.status_code == 200
    start = page.text.index("<title>") + len("<title>")
    return page.text[start : page.text.index("</title>")]


# --- /healthz ------------------------------------------------------------------------------


def put_a_folder_in_place_of(db_path: Path) -> Path:
    """Move the database file aside and leave a folder SQLite cannot open in its place."""
    moved = db_path.with_name("moved-away.db")
    db_path.rename(moved)
    for extra in ("-wal", "-shm"):
        db_path.with_name(db_path.name + extra).unlink(missing_ok=True)
    db_path.mkdir()
    return moved


def restore(db_path: Path, moved: Path) -> None:
    db_path.rmdir()
    moved.rename(db_path)


async def test_healthz_is_503_when_the_database_cannot_be_opened(
    client: httpx.AsyncClient, app: FastAPI, db_path: Path
) -> None:
    assert (await client.get("/healthz")).status_code == 200
    runtime: Runtime = app.state.runtime
    await runtime.engine.dispose()  # drop the open connections: the next one must open
    moved = put_a_folder_in_place_of(db_path)
    try:
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "error", "database": "unreachable"}
    finally:
        restore(db_path, moved)
    recovered = await client.get("/healthz")  # the database is back: so is the health
    assert (recovered.status_code, recovered.json()["status"]) == (200, "ok")


# --- background flow reload ----------------------------------------------------------------


def own_flow(tmp_path: Path, db_url: str, *, reload_seconds: float) -> tuple[Path, Settings]:
    """A flows folder with one flow file of our own, and settings that load it."""
    flows = tmp_path / "own-flows"
    flows.mkdir()
    own = flows / "own_nps.yaml"
    own.write_text(nps_named("Our survey, first wording"), encoding="utf-8")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        flows_dir=flows,
        flow_reload_seconds=reload_seconds,
    )
    return own, settings


async def test_an_edited_flow_file_is_served_without_a_restart(tmp_path: Path, db_url: str) -> None:
    own, settings = own_flow(tmp_path, db_url, reload_seconds=0.2)
    async with serving(settings) as (_, client):
        assert await title(client) == "Our survey, first wording"  # loaded at start-up

        own.write_text(nps_named("Our survey, second wording"), encoding="utf-8")

        async def edited() -> bool:
            return await title(client) == "Our survey, second wording"

        assert await eventually(edited), await title(client)
        health = (await client.get("/healthz")).json()
        assert health["flow_errors"] == 0

        # a broken edit: reported in /healthz, the second wording stays live
        broken = nps_named("Our survey, broken wording").replace("goto: why_low", "goto: nowhere")
        own.write_text(broken, encoding="utf-8")

        async def reported() -> bool:
            return int((await client.get("/healthz")).json()["flow_errors"]) >= 1

        assert await eventually(reported), (await client.get("/healthz")).json()
        health = (await client.get("/healthz")).json()
        assert health["status"] == "ok" and "own_nps" in health["flows"]
        assert await title(client) == "Our survey, second wording"
        await asyncio.sleep(0.5)  # a few more reloads do not change that
        assert await title(client) == "Our survey, second wording"


async def test_without_a_reload_period_edits_wait_for_a_restart(
    tmp_path: Path, db_url: str
) -> None:
    """The control for the test above: the edit is picked up by the background task."""
    own, settings = own_flow(tmp_path, db_url, reload_seconds=0)
    async with serving(settings) as (_, client):
        own.write_text(nps_named("Our survey, second wording"), encoding="utf-8")
        await asyncio.sleep(0.5)
        assert await title(client) == "Our survey, first wording"


# --- closing idle interviews ---------------------------------------------------------------


def _fast_asyncio(factor: float) -> Any:
    """`asyncio` for cxbot.app, with every sleep `factor` times shorter."""
    real_sleep = asyncio.sleep

    async def sleep(delay: float, result: Any = None) -> Any:
        return await real_sleep(delay * factor, result)

    fast = types.ModuleType("asyncio")
    fast.__dict__.update(asyncio.__dict__)
    fast.sleep = sleep  # type: ignore[attr-defined]
    return fast


async def test_idle_interviews_are_closed_in_the_background(
    app_settings: Settings, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The closer's period (a minute) is scaled down; the clock is the test's."""
    monkeypatch.setattr(cxbot.app, "asyncio", _fast_asyncio(0.001))
    assert app_settings.flows_dir is not None
    app_settings.flows_dir.mkdir(exist_ok=True)
    app = create_app(app_settings)
    clock = Clock()
    runtime: Runtime = app.state.runtime
    runtime.service.clock = clock
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await c.get("/chat/nps")).status_code == 200
            started = await c.post(
                "/chat/nps/messages", json={"client_id": "idle-start-1", "start": True}
            )
            assert started.status_code == 200

            def status() -> list[tuple[Any, ...]]:
                with sqlite3.connect(db_path) as db:
                    return db.execute("SELECT status FROM conversation").fetchall()

            async def closed() -> bool:
                return status() == [("abandoned",)]

            await asyncio.sleep(0.3)  # several passes of the closer: not idle yet
            assert status() == [("active",)]
            clock.advance(minutes=31)  # past the nps flow's 30-minute timeout
            assert await eventually(closed), status()


async def visitor_cookie(app: FastAPI) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/chat/nps")
        return page.cookies["cxbot_visitor"]


async def history_status(app: FastAPI, cookie: str) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.cookies.set("cxbot_visitor", cookie)
        return (await client.get("/chat/nps/messages")).status_code


async def test_app_processes_share_the_generated_visitor_key(app_settings: Settings) -> None:
    """Two processes on one database: a cookie one issued is good at the other, and after a
    restart; a server with its own CXBOT_SECRET_KEY does not accept it."""
    first, second = create_app(app_settings), create_app(app_settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        cookie = await visitor_cookie(first)
        assert await history_status(second, cookie) == 200
    restarted = create_app(app_settings)
    async with restarted.router.lifespan_context(restarted):
        assert await history_status(restarted, cookie) == 200
    keyed = create_app(app_settings.model_copy(update={"secret_key": SecretStr(KEY)}))
    async with keyed.router.lifespan_context(keyed):
        assert await history_status(keyed, cookie) == 401
        own = await visitor_cookie(keyed)
        assert await history_status(keyed, own) == 200
    assert VisitorIds(KEY.encode()).verify(own) == own.split(".")[0]
