"""Database engine and sessions: SQLite (WAL) by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

Sessions = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    """True for sqlite URLs."""
    return make_url(url).get_backend_name() == "sqlite"


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (for Alembic)."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    elif parsed.drivername in ("postgresql+asyncpg", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def prepare_sqlite_file(url: str) -> None:
    """Create the folder of a SQLite file so the first connection can create the file."""
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def use_wal(url: str) -> None:
    """Put a SQLite file in WAL mode (it stays so), creating the file and its folder."""
    prepare_sqlite_file(url)
    database = make_url(url).database
    if database and database != ":memory:":
        with closing(sqlite3.connect(Path(database).expanduser())) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and write-locking transactions."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True)
    prepare_sqlite_file(url)
    engine = create_async_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=15000",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # BEGIN IMMEDIATE: a read-then-write transaction takes the write lock up front,
        # so two processes handling one conversation queue instead of failing.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_sessions(engine: AsyncEngine) -> Sessions:
    """A session factory; objects stay usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed on success, rolled back on error."""
    async with sessions() as session, session.begin():
        yield session
