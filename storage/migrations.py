"""Schema migrations with Alembic, run from code (`cxbot db upgrade`, app start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.database import is_sqlite, sync_url, use_wal

SCRIPTS = Path(__file__).with_name("alembic")


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the database at `url`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking; call from a thread in async code)."""
    if is_sqlite(url):
        use_wal(url)  # creates the file's folder, which SQLite cannot do itself
    command.upgrade(alembic_config(url), revision)
