"""theme words: admins' labels and extra words for the theme book

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "theme_setting",
        sa.Column("key", _text(length=32), nullable=False),
        sa.Column("label_zh", _text(length=64), nullable=True),
        sa.Column("label_en", _text(length=64), nullable=True),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("updated_by", _text(length=64), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "theme_word",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _text(length=32), nullable=False),
        sa.Column("word", _text(length=64), nullable=False),
        sa.Column("added_at", _time(), nullable=False),
        sa.Column("added_by", _text(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "word", name="uq_theme_word_key_word"),
    )
    op.create_index("ix_theme_word_key", "theme_word", ["key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_theme_word_key", table_name="theme_word")
    op.drop_table("theme_word")
    op.drop_table("theme_setting")
