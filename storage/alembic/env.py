"""Alembic environment: migrates SQLModel.metadata using the URL set by storage.migrations."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import storage.analysis_tables  # registers the analysis queue, results and token usage
import storage.flow_tables  # registers the flow publication, status and draft tables
import storage.loop_tables  # registers the closed loop's notice and webhook tables
import storage.models  # registers the tables
import storage.nonces  # registers the webhook_nonce table
import storage.server_secrets  # registers the server_secret table
import storage.theme_tables  # registers the admins' theme words
import storage.tokens  # noqa: F401 - registers the platform_token table

target_metadata = SQLModel.metadata
config = context.config


def run_migrations() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
        hide_parameters=True,  # no customer data in migration errors
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


run_migrations()
