"""storage.sqlite_driver: one hand-off per statement, and SQLite's behaviour unchanged."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import sqlite_driver
from storage.database import create_engine
from storage.outages import unavailable
from tests.conftest import sqlite_url


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A SQLite engine as cxbot builds it, on a file with one table."""
    engine = create_engine(sqlite_url(tmp_path / "driver.db"), timeout=0.2)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The functions queued to aiosqlite's thread, by name."""
    queued: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
        queued.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kw)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield queued


async def test_the_engine_uses_the_driver(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, sqlite_driver.Connection)
    assert engine.url.drivername == "sqlite+aiosqlite"


async def test_a_transaction_is_one_hand_off_per_statement_and_one_to_commit(
    engine: AsyncEngine, hand_offs: list[str]
) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # connected, pool warm
        await connection.commit()
        hand_offs.clear()
        async with connection.begin():  # BEGIN IMMEDIATE goes with the first statement
            await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
            rows = (await connection.execute(text("SELECT v FROM t"))).all()
            await connection.execute(text("UPDATE t SET v = 'b'"))
        assert [tuple(r) for r in rows] == [("a",)]
    assert hand_offs == ["_run", "_run", "_run", "commit"]  # no rollback at check-in


async def test_rows_rowcount_lastrowid_returning_and_executemany(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (v) VALUES ('x')"))
        assert inserted.lastrowid == 1
        await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "y"}, {"v": "z"}])
        updated = await connection.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        returned = await connection.execute(text("INSERT INTO t (v) VALUES ('w') RETURNING id, v"))
        assert returned.keys() == ["id", "v"] and returned.all() == [(4, "w")]
        result = await connection.execute(text("SELECT id FROM t ORDER BY id"))
        assert result.fetchone() == (1,)
        assert result.fetchmany(2) == [(2,), (3,)]
        assert result.fetchall() == [(4,)]


async def test_a_duplicate_is_an_integrity_error_and_nothing_stays_locked(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (v) VALUES ('once')"))
    with pytest.raises(IntegrityError) as raised:
        async with engine.begin() as connection:  # the duplicate is the first statement
            await connection.execute(text("INSERT INTO t (v) VALUES ('once')"))
    assert isinstance(raised.value.orig, sqlite3.IntegrityError)
    assert unavailable(raised.value) is None  # a bug, not an outage
    async with engine.begin() as connection:  # the write lock was released
        await connection.execute(text("INSERT INTO t (v) VALUES ('twice')"))


async def test_a_held_write_lock_is_database_is_locked_an_outage(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    with closing(sqlite3.connect(tmp_path / "driver.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError) as raised:
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
        assert isinstance(raised.value.orig, sqlite3.OperationalError)
        assert unavailable(raised.value) == "database is locked"
        other.execute("ROLLBACK")
    async with engine.begin() as connection:  # the pooled connection is usable again
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_a_cancelled_statement_is_rolled_back(engine: AsyncEngine, tmp_path: Path) -> None:
    gate = asyncio.Event()

    async def insert_then_wait() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES ('lost')"))
            gate.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(insert_then_wait())
    await gate.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with engine.begin() as connection:  # the lock is free and nothing was committed
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_a_closed_connection_says_so(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.dbapi_connection
        assert driver is not None
        await connection.run_sync(lambda _: driver.close())
        with pytest.raises(OperationalError):
            await connection.execute(text("SELECT 1"))
        await connection.invalidate()


# -- inline: short write transactions on the event loop's thread --------------------------


async def test_inline_statements_and_commit_need_no_hand_off(
    engine: AsyncEngine, hand_offs: list[str]
) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        await connection.commit()
        hand_offs.clear()
        with sqlite_driver.inline():
            async with connection.begin():
                await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
                rows = (await connection.execute(text("SELECT v FROM t"))).all()
        assert [tuple(r) for r in rows] == [("a",)]
    assert hand_offs == []
    async with engine.connect() as connection:  # committed, and the thread path still works
        assert (await connection.execute(text("SELECT v FROM t"))).scalar() == "a"
    assert hand_offs[:1] == ["_run"]


async def test_an_inline_begin_waits_for_a_held_lock_on_the_thread_not_the_loop(
    tmp_path: Path, hand_offs: list[str]
) -> None:
    engine = create_engine(sqlite_url(tmp_path / "wait.db"), timeout=5)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        other = sqlite3.connect(tmp_path / "wait.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        hand_offs.clear()
        ticks = 0

        async def loop_keeps_running() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                if ticks == 5:  # the loop ran while the BEGIN waited: let it through
                    other.execute("ROLLBACK")
                await asyncio.sleep(0)

        ticker = asyncio.create_task(loop_keeps_running())
        with sqlite_driver.inline():
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t (v) VALUES ('late')"))
        ticker.cancel()
        other.close()
        assert ticks >= 5
        assert hand_offs[:1] == ["_run"]  # the BEGIN and its statement waited on the thread
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT v FROM t"))).scalar() == "late"
    finally:
        await engine.dispose()


async def test_inline_a_lock_held_past_the_timeout_is_still_an_outage(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    with closing(sqlite3.connect(tmp_path / "driver.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError) as raised, sqlite_driver.inline():
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
        assert unavailable(raised.value) == "database is locked"
        other.execute("ROLLBACK")
    with sqlite_driver.inline():
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES ('after')"))
