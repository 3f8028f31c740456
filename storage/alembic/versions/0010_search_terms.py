"""search terms: the transcript search index, filled from the stored customer texts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage import search_index

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "search_term",
        sa.Column("term", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.PrimaryKeyConstraint("term", "conversation_id"),
        sqlite_with_rowid=False,
    )
    assert table is not None
    # every message and open answer stored so far becomes searchable, in this transaction
    search_index.rebuild(op.get_bind(), table)


def downgrade() -> None:
    op.drop_table("search_term")
