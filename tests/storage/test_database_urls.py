"""Database URLs as users write them: the async driver is picked, Alembic gets a sync one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine, normalize_url, sync_url
from storage.migrations import upgrade
from tests.postgres import PostgresServer


@pytest.mark.parametrize(
    ("written", "async_form", "sync_form"),
    [
        ("sqlite:///cx.db", "sqlite+aiosqlite:///cx.db", "sqlite:///cx.db"),
        ("sqlite:////srv/cx.db", "sqlite+aiosqlite:////srv/cx.db", "sqlite:////srv/cx.db"),
        ("sqlite+aiosqlite:///cx.db", "sqlite+aiosqlite:///cx.db", "sqlite:///cx.db"),
        ("sqlite+pysqlite:///cx.db", "sqlite+aiosqlite:///cx.db", "sqlite:///cx.db"),
        (
            "postgresql://cx:pw@db/cx",
            "postgresql+psycopg://cx:pw@db/cx",
            "postgresql+psycopg://cx:pw@db/cx",
        ),
        (
            "postgres://cx:pw@db:5433/cx?sslmode=require",
            "postgresql+psycopg://cx:pw@db:5433/cx?sslmode=require",
            "postgresql+psycopg://cx:pw@db:5433/cx?sslmode=require",
        ),
        (
            "postgresql+psycopg2://cx:pw@db/cx",
            "postgresql+psycopg://cx:pw@db/cx",
            "postgresql+psycopg://cx:pw@db/cx",
        ),
        (
            "postgresql+psycopg://cx:p%40ss@db/cx",
            "postgresql+psycopg://cx:p%40ss@db/cx",
            "postgresql+psycopg://cx:p%40ss@db/cx",
        ),
        (
            "postgresql+asyncpg://cx:pw@db/cx",
            "postgresql+asyncpg://cx:pw@db/cx",
            "postgresql+psycopg://cx:pw@db/cx",
        ),
        (
            "postgres+asyncpg://cx@db/cx",
            "postgresql+asyncpg://cx@db/cx",
            "postgresql+psycopg://cx@db/cx",
        ),
        (
            "postgresql+nosuchdriver://cx@db/cx",  # kept: the CLI says it is not installed
            "postgresql+nosuchdriver://cx@db/cx",
            "postgresql+psycopg://cx@db/cx",
        ),
        ("  sqlite:///cx.db\n", "sqlite+aiosqlite:///cx.db", "sqlite:///cx.db"),
    ],
)
def test_the_async_driver_is_picked_and_alembic_gets_a_sync_one(
    written: str, async_form: str, sync_form: str
) -> None:
    assert normalize_url(written).render_as_string(hide_password=False) == async_form
    assert sync_url(written) == sync_form


def test_a_home_folder_in_a_sqlite_path_is_expanded() -> None:
    assert normalize_url("sqlite:///~/cx.db").database == str(Path.home() / "cx.db")


def test_a_sqlite_url_with_two_slashes_is_refused_with_the_fix() -> None:
    with pytest.raises(ArgumentError, match=r"three slashes .*\(sqlite:///cx\.db\)"):
        normalize_url("sqlite://cx.db")


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names()))


@pytest.mark.parametrize("prefix", ["sqlite://", "sqlite+aiosqlite://", "sqlite+pysqlite://"])
async def test_sqlite_urls_migrate_and_serve_a_relative_file(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"{prefix}/data/cx.db"
    upgrade(url)
    engine = create_engine(url)
    try:
        assert {"conversation", "message", "alembic_version"} <= await _tables(engine)
    finally:
        await engine.dispose()
    assert (tmp_path / "data" / "cx.db").is_file()


async def test_an_absolute_sqlite_path_takes_four_slashes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'abs.db'}"  # tmp_path starts with "/": four slashes
    assert url.startswith("sqlite:////")
    upgrade(url)
    engine = create_engine(url)
    try:
        assert "answer" in await _tables(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def empty_postgres(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, unmigrated PostgreSQL database, as the tests' psycopg URL."""
    with postgres.database(migrated=False) as url:
        yield url


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2"])
async def test_postgresql_urls_migrate_and_serve(scheme: str, empty_postgres: str) -> None:
    url = empty_postgres.replace("postgresql+psycopg://", f"{scheme}://")
    upgrade(url)
    engine = create_engine(url)
    try:
        assert engine.dialect.driver == "psycopg"
        assert engine.dialect.is_async
        assert {"conversation", "message", "alembic_version"} <= await _tables(engine)
    finally:
        await engine.dispose()
