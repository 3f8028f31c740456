"""Database engine and sessions: SQLite (WAL) by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_driver
from storage.nul import dumps_without_nul, replace_nul

Sessions = async_sessionmaker[AsyncSession]
READ_ONLY = "cxbot_read_only"
"""Execution option of a transaction that only reads (see `reading`)."""


ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
"""The async driver picked for each backend when a URL names none or a synchronous one."""
SYNC_ONLY_DRIVERS = {"", "pysqlite", "psycopg2", "psycopg2cffi", "pg8000"}
"""Drivers users copy from other tools' URLs; cxbot swaps them for the async driver."""
SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}
"""The synchronous driver Alembic uses for each backend."""
TIMEOUT_SECONDS = 2.0
"""How long one database wait may last by default (CXBOT_DATABASE_TIMEOUT_SECONDS)."""


def normalize_url(url: str | URL) -> URL:
    """The async SQLAlchemy URL for a database URL as users write it.

    `sqlite:///cx.db`, `postgres://…` and `postgresql://…` get the async driver
    (aiosqlite, psycopg), and so do synchronous drivers (psycopg2, pysqlite); any other
    driver is kept, and other backends pass unchanged.
    Raises sqlalchemy's ArgumentError for what is no URL, or a SQLite URL with two slashes.
    """
    parsed = make_url(url.strip() if isinstance(url, str) else url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":  # Heroku's and libpq's spelling, which SQLAlchemy dropped
        backend = "postgresql"
        parsed = parsed.set(drivername=f"{backend}+{driver}" if driver else backend)
    if backend not in ASYNC_DRIVERS:
        return parsed
    if driver in SYNC_ONLY_DRIVERS:
        parsed = parsed.set(drivername=ASYNC_DRIVERS[backend])
    if backend == "sqlite":
        if parsed.host:
            raise ArgumentError(
                f"{parsed.render_as_string()} names the file where a host goes; "
                f"write three slashes for a relative path (sqlite:///{parsed.host}) "
                "or four for an absolute one (sqlite:////var/lib/cxbot/cxbot.db)"
            )
        if parsed.database and parsed.database.startswith("~"):
            parsed = parsed.set(database=str(Path(parsed.database).expanduser()))
    return parsed


def is_sqlite(url: str | URL) -> bool:
    """True for sqlite URLs."""
    return make_url(url).get_backend_name() == "sqlite"


def sync_url(url: str | URL) -> str:
    """The same database through a synchronous driver (for Alembic)."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend in SYNC_DRIVERS:
        parsed = parsed.set(drivername=SYNC_DRIVERS[backend])
    return parsed.render_as_string(hide_password=False)


def shown_url(url: str | URL) -> str:
    """The URL to print: the password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def prepare_sqlite_file(url: str | URL) -> None:
    """Create the folder of a SQLite file so the first connection can create the file."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def use_wal(url: str | URL) -> None:
    """Put a SQLite file in WAL mode (it stays so), creating the file and its folder."""
    prepare_sqlite_file(url)
    path = sqlite_file(url)
    if path is not None:
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


def create_engine(url: str | URL, *, timeout: float = TIMEOUT_SECONDS) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and write-locking transactions
    (through `storage.sqlite_driver`: one hand-off to the database thread per statement).

    `timeout` bounds every wait on the database, so an outage is a quick error, not a hang:
    SQLite's busy timeout (the write lock held by another process); on PostgreSQL the
    connect timeout (libpq's least is 2 s), `statement_timeout` and `lock_timeout`; and the
    wait for a connection from the pool.
    """
    url = normalize_url(url)
    if not is_sqlite(url):
        engine = create_async_engine(
            url,
            pool_pre_ping=True,
            pool_timeout=timeout,
            connect_args=_server_timeouts(url, timeout),
            json_serializer=dumps_without_nul,
            hide_parameters=True,
        )
        replace_nul(engine)
        return engine
    prepare_sqlite_file(url)
    engine = create_async_engine(
        url,
        module=sqlite_driver.dbapi() if url.get_driver_name() == "aiosqlite" else None,
        connect_args={"timeout": timeout},
        json_serializer=dumps_without_nul,
        hide_parameters=True,  # SQL parameters carry customer text: never in errors or logs
    )
    replace_nul(engine)
    busy_ms = max(1, round(timeout * 1000))

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"busy_timeout={busy_ms}",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # BEGIN IMMEDIATE: a read-then-write transaction takes the write lock up front,
        # so two processes handling one conversation queue instead of failing. A read-only
        # transaction (`reading`) must not hold up the writers: a plain (deferred) BEGIN.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _server_timeouts(url: URL, timeout: float) -> dict[str, Any]:
    """Connection arguments that bound connecting and every statement on a server."""
    ms = max(1, round(timeout * 1000))
    settings = {"statement_timeout": str(ms), "lock_timeout": str(ms)}
    if url.get_backend_name() != "postgresql":
        return {}
    if url.get_driver_name() == "asyncpg":
        return {"timeout": timeout, "command_timeout": timeout, "server_settings": settings}
    given = url.query.get("options", "")
    options = " ".join(
        [
            *([given] if isinstance(given, str) else given),
            *(f"-c {k}={v}" for k, v in settings.items()),
        ]
    )
    return {"connect_timeout": max(2, math.ceil(timeout)), "options": options.strip()}


def create_sessions(engine: AsyncEngine) -> Sessions:
    """A session factory; objects stay usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed on success, rolled back on error."""
    async with sessions() as session, session.begin():
        yield session


@asynccontextmanager
async def reading(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """A session for reads only, its statements one snapshot: on SQLite a deferred
    transaction (never takes the write lock, so aggregates do not hold up the bot), on
    PostgreSQL a read-only REPEATABLE READ one; rolled back at the end."""
    async with sessions() as session:
        options: dict[str, Any] = {READ_ONLY: True}
        bind = sessions.kw.get("bind")
        if bind is not None and bind.dialect.name == "postgresql":
            options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        await session.connection(execution_options=options)
        try:
            yield session
        finally:
            await session.rollback()
