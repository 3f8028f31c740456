"""A database outage is a quick 503 on every route (platforms and pages try again), never a
500 and never a hang: SQLite's write lock held by another process, a PostgreSQL server that
is stopped or never answers, a table locked on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from cxbot.settings import Settings
from storage.outages import unavailable
from tests.bot.wechat_chat import running
from tests.cxbot.test_app import serving
from tests.postgres import PostgresServer

TOKEN = "integration-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = "Kq3-8vTz_Lm2Xc9WbN4yR6pHs1Jd7fGa"
BOUND = 5.0
"""The documented bound on a 503 with the default 2 s database timeout (generous: ~4 s)."""
HEALTH_BOUND = 3.0
"""/healthz answers within ~2 s (generous guard)."""


@contextlib.contextmanager
def write_lock_held(db_path: Path) -> Iterator[None]:
    """Another process's transaction holding SQLite's one write lock, until the block ends."""
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    """The response and how long it took."""
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


def chat_start(client_id: str) -> dict[str, object]:
    return {"client_id": client_id, "start": True}


def api_start(openid: str, key: str) -> dict[str, object]:
    return {
        "flow_id": "csat",
        "channel": "wechat",
        "customer": openid,
        "idempotency_key": key,
        "language": "zh",
    }


def assert_outage(response: httpx.Response) -> None:
    """A 503 that says try again, without a traceback or the driver's words."""
    assert response.status_code == 503, response.text
    assert "Traceback" not in response.text and "sqlite" not in response.text.lower()


# --- SQLite: the write lock held by another process -----------------------------------------


async def test_a_write_lock_held_elsewhere_is_a_quick_503_and_the_retry_works(
    db_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cxbot.app")
    async with running(db_path, db_url, api_token=TOKEN) as rig:
        client = rig.client
        assert (await client.get("/chat/nps")).status_code == 200  # the visitor's cookie
        await rig.follower("o_buyer").says("你好")  # the customer-service window is open

        with write_lock_held(db_path):
            health, health_took = await timed(client.get("/healthz"))
            chat, chat_took = await timed(
                client.post("/chat/nps/messages", json=chat_start("visit-0001"))
            )
            api, api_took = await timed(
                client.post("/api/v1/interviews", headers=AUTH, json=api_start("o_buyer", "k-1"))
            )
            history, history_took = await timed(client.get("/chat/nps/messages"))
        print(
            f"\nSQLite write lock held: /healthz {health_took:.2f} s, "
            f"web chat {chat_took:.2f} s (GET {history_took:.2f} s), API {api_took:.2f} s"
        )
        for response in (health, chat, api):
            assert_outage(response)  # every writing transaction starts with BEGIN IMMEDIATE
        # the web chat's history only reads (a deferred snapshot): served under the lock
        assert history.status_code == 200, history.text
        assert chat.headers["retry-after"] and api.headers["retry-after"]
        assert health_took < HEALTH_BOUND
        assert max(chat_took, history_took, api_took) < BOUND
        outage_lines = [
            r
            for r in caplog.records
            if r.name == "cxbot.app" and "database unavailable" in r.getMessage()
        ]
        assert len(outage_lines) == 2 and not any(r.exc_info for r in outage_lines)

        # the lock is gone: the same requests work, and nothing was half stored before
        assert (await client.get("/healthz")).status_code == 200
        chat = await client.post("/chat/nps/messages", json=chat_start("visit-0001"))
        assert chat.status_code == 200 and not chat.json()["duplicate"]
        assert "推荐" in chat.json()["messages"][0]["text"]
        api = await client.post(
            "/api/v1/interviews", headers=AUTH, json=api_start("o_buyer", "k-1")
        )
        assert api.status_code == 202 and api.json()["status"] == "started"
        assert rig.rows("SELECT count(*) FROM event WHERE name = 'service-error'") == [(0,)]


async def test_messages_queued_behind_a_stalled_write_all_get_their_503_quickly(
    app_settings: Settings, db_path: Path
) -> None:
    """Writers queue in the process (storage/writes.py): the queue's wait is bounded too,
    so the tenth message does not wait for nine busy timeouts."""
    async with serving(app_settings) as (app, first):
        transport = httpx.ASGITransport(app=app)
        visitors = [first] + [
            httpx.AsyncClient(transport=transport, base_url="http://testserver") for _ in range(9)
        ]
        try:
            for visitor in visitors:
                assert (await visitor.get("/chat/nps")).status_code == 200
            with write_lock_held(db_path):
                answers = await asyncio.gather(
                    *(
                        timed(v.post("/chat/nps/messages", json=chat_start(f"visit-{i:04}")))
                        for i, v in enumerate(visitors)
                    )
                )
            longest = max(took for _, took in answers)
            print(
                f"\n10 web chat posts behind a held write lock: longest 503 after {longest:.2f} s"
            )
            for response, _ in answers:
                assert_outage(response)
            assert longest < BOUND
            after = await visitors[3].post("/chat/nps/messages", json=chat_start("visit-0003"))
            assert after.status_code == 200
        finally:
            for visitor in visitors[1:]:
                await visitor.aclose()


async def test_a_programming_error_in_the_database_stays_a_500_and_is_logged(
    client: httpx.AsyncClient, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await client.get("/chat/nps")).status_code == 200
    with sqlite3.connect(db_path) as db:
        db.execute("ALTER TABLE message RENAME TO message_gone")  # a deployment bug
    response = await client.post("/chat/nps/messages", json=chat_start("visit-0001"))
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert "POST /chat/nps/messages failed" in caplog.text
    assert "no such table" in caplog.text  # the developer gets the cause, the customer not


def test_what_counts_as_an_outage() -> None:
    locked = OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    assert unavailable(locked) == "database is locked"
    missing = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert unavailable(missing) is None
    duplicate = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed"))
    assert unavailable(duplicate) is None
    refused = OperationalError("connect", {}, psycopg.OperationalError("connection refused"))
    assert unavailable(refused) == "connection refused"
    assert unavailable(psycopg.errors.LockNotAvailable("lock timeout")) == "lock timeout"
    assert unavailable(psycopg.errors.UndefinedTable("no table")) is None
    assert unavailable(TimeoutError("waited 2 s")) == "waited 2 s"
    assert unavailable(ConnectionResetError()) == "ConnectionResetError"
    try:
        try:
            raise ConnectionRefusedError("refused")
        except OSError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert unavailable(wrapped) == "refused"
    assert unavailable(ValueError("a bug")) is None


# --- PostgreSQL: a server that is stopped, never answers, or holds a table lock ------------


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a stalled server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


def outage_settings(tmp_path: Path, url: str) -> Settings:
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        flow_reload_seconds=0,
        flows_dir=flows,
        auto_migrate=False,
        secret_key=KEY,  # so start-up needs no database
    )


async def test_a_postgresql_server_that_never_answers_is_a_quick_503(tmp_path: Path) -> None:
    with silent_server() as port:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/cxbot"
        async with serving(outage_settings(tmp_path, url)) as (_, client):
            assert (await client.get("/chat/nps")).status_code == 200
            health, health_took = await timed(client.get("/healthz"))
            chat, chat_took = await timed(
                client.post("/chat/nps/messages", json=chat_start("visit-0001"))
            )
    print(f"\nPostgreSQL never answers: /healthz {health_took:.2f} s, web chat {chat_took:.2f} s")
    assert_outage(health)
    assert_outage(chat)
    assert health_took < HEALTH_BOUND and chat_took < BOUND


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, which it may stop and start again."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


def pg_ctl(server: PostgresServer, *args: str) -> None:
    server._command("pg_ctl", "-D", str(server.data), "-l", str(server.log), "-w", *args)


async def test_a_stopped_postgresql_server_is_a_quick_503_until_it_is_back(
    tmp_path: Path, own_postgres: PostgresServer
) -> None:
    url = own_postgres.url("cxbot_template")  # migrated at start-up
    async with serving(outage_settings(tmp_path, url)) as (_, client):
        assert (await client.get("/chat/nps")).status_code == 200
        ok = await client.post("/chat/nps/messages", json=chat_start("visit-0001"))
        assert ok.status_code == 200  # the pool holds live connections now

        pg_ctl(own_postgres, "-m", "fast", "stop")
        health, health_took = await timed(client.get("/healthz"))
        chat, chat_took = await timed(
            client.post("/chat/nps/messages", json=chat_start("visit-0002"))
        )
        again, again_took = await timed(
            client.post("/chat/nps/messages", json=chat_start("visit-0002"))
        )
        print(
            f"\nPostgreSQL stopped: /healthz {health_took:.2f} s, web chat {chat_took:.2f} s "
            f"and {again_took:.2f} s"
        )
        for response in (health, chat, again):
            assert_outage(response)
        assert health_took < HEALTH_BOUND and max(chat_took, again_took) < BOUND

        options = f"-h 127.0.0.1 -k {own_postgres.root} -p {own_postgres.port}"
        pg_ctl(own_postgres, "-o", options, "start")
        assert (await client.get("/healthz")).status_code == 200
        back = await client.post("/chat/nps/messages", json=chat_start("visit-0002"))
        assert back.status_code == 200 and not back.json()["duplicate"]


@contextlib.asynccontextmanager
async def table_locked(url: str, table: str) -> AsyncIterator[None]:
    """Another connection holding `table` in ACCESS EXCLUSIVE mode (no reads, no writes)."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    async with await psycopg.AsyncConnection.connect(conninfo) as other:
        await other.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield
        await other.rollback()


@pytest.mark.backends("postgresql")
async def test_a_locked_postgresql_table_is_a_quick_503(
    db_url: str,
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/chat/nps")).status_code == 200
    async with table_locked(db_url, "message"):
        chat, took = await timed(client.post("/chat/nps/messages", json=chat_start("visit-01")))
    print(f"\nPostgreSQL table locked: web chat 503 after {took:.2f} s")
    assert_outage(chat)
    assert took < BOUND
    back = await client.post("/chat/nps/messages", json=chat_start("visit-01"))
    assert back.status_code == 200 and not back.json()["duplicate"]
