"""Alembic migrations: a fresh file gets every table, WAL, and a schema equal to the models."""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage
from storage.database import sync_url
from storage.migrations import upgrade
from tests.conftest import sqlite_url

TABLES = {"customer", "flowversion", "conversation", "message", "answer", "event", "escalation"}

for module in pkgutil.iter_modules(storage.__path__):  # every table, as alembic/env.py sees them
    importlib.import_module(f"storage.{module.name}")


def test_upgrade_creates_every_table_on_a_fresh_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "fresh.db"
    upgrade(sqlite_url(path))
    with sqlite3.connect(path) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = db.execute("SELECT version_num FROM alembic_version").fetchall()
    assert names >= TABLES
    assert names == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert len(version) == 1


def test_upgrade_leaves_the_file_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    upgrade(sqlite_url(path))
    with sqlite3.connect(path) as db:  # a plain connection: WAL is a property of the file
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_upgrade_twice_is_a_no_op(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "twice.db")
    upgrade(url)
    upgrade(url)
    with sqlite3.connect(tmp_path / "twice.db") as db:
        assert len(db.execute("SELECT version_num FROM alembic_version").fetchall()) == 1


async def test_engine_connections_use_wal(engine: AsyncEngine, db_path: Path) -> None:
    async with engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        busy = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert mode == "wal"
    assert foreign_keys == 1
    assert busy == 15000
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
