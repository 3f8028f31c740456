"""Alembic migrations: a fresh database gets every table and a schema equal to the models,
on SQLite (in WAL mode) and PostgreSQL alike."""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage
from storage.database import sync_url
from storage.migrations import upgrade
from tests.conftest import sqlite_url

pytestmark = pytest.mark.backends("sqlite", "postgresql")

TABLES = {"customer", "flowversion", "conversation", "message", "answer", "event", "escalation"}

for module in pkgutil.iter_modules(storage.__path__):  # every table, as alembic/env.py sees them
    importlib.import_module(f"storage.{module.name}")


def tables_and_versions(url: str) -> tuple[set[str], list[str]]:
    """The table names of a database and the rows of its alembic_version."""
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names())
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return names, [row[0] for row in versions]
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_on_a_fresh_database(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    names, versions = tables_and_versions(empty_db_url)
    assert names >= TABLES
    assert names == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert len(versions) == 1


def test_upgrade_leaves_the_file_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    upgrade(sqlite_url(path))
    with sqlite3.connect(path) as db:  # a plain connection: WAL is a property of the file
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    before = tables_and_versions(db_url)
    upgrade(db_url)
    assert tables_and_versions(db_url) == before
    assert len(before[1]) == 1


@pytest.mark.backends("sqlite")
async def test_engine_connections_use_wal(engine: AsyncEngine, db_path: Path) -> None:
    async with engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        busy = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert mode == "wal"
    assert foreign_keys == 1
    assert busy == 2000  # CXBOT_DATABASE_TIMEOUT_SECONDS: a held write lock is a quick 503
    # WAL is a property of the file: a plain sqlite3 connection sees it too.
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migrations_match_the_models(db_url: str) -> None:
    engine = sa.create_engine(sync_url(db_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_comparison_would_notice_a_missing_column(db_url: str) -> None:
    """The previous test is not vacuous: a model change shows up as a difference."""
    metadata = sa.MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(metadata)
    sa.Table("answer", metadata, sa.Column("sentiment", sa.String(16)), extend_existing=True)
    engine = sa.create_engine(sync_url(db_url))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert [(d[0], d[3].name) for d in differences] == [("add_column", "sentiment")]
