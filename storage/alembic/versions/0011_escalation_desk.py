"""escalation desk: who claimed a case and when, the first agent reply, the resolution note,
the closing question and its answer; internal notes on a case

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(sa.Column("assigned_user_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("assigned_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(sa.Column("claimed_at", UTC_TIME(), nullable=True))
        batch.add_column(sa.Column("first_reply_at", UTC_TIME(), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("closing_asked_at", UTC_TIME(), nullable=True))
        batch.add_column(
            sa.Column("closing_answer", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
        batch.add_column(sa.Column("updated_at", UTC_TIME(), nullable=True))
        batch.create_index("ix_escalation_due_at", ["due_at"], unique=False)
    op.create_table(
        "escalation_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_escalation_note_escalation_id", "escalation_note", ["escalation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_escalation_note_escalation_id", table_name="escalation_note")
    op.drop_table("escalation_note")
    with op.batch_alter_table("escalation") as batch:
        batch.drop_index("ix_escalation_due_at")
        for name in (
            "updated_at",
            "closing_answer",
            "closing_asked_at",
            "note",
            "first_reply_at",
            "claimed_at",
            "assigned_name",
            "assigned_user_id",
        ):
            batch.drop_column(name)
