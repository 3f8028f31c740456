"""handoff: one open escalation per conversation; telling a customer nobody picked up

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('open', 'assigned', 'waiting')"


def upgrade() -> None:
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(
            sa.Column("unattended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column("unattended_told_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_index("ix_escalation_unattended_at", "escalation", ["unattended_at"])
    # an older database may hold two open cases for one conversation (an internal error
    # after a handoff): the first stays, the later ones are closed as merged into it
    op.execute(
        "UPDATE escalation SET status = 'closed', outcome = 'merged-duplicate' "
        f"WHERE {OPEN} AND EXISTS (SELECT 1 FROM escalation AS earlier "
        "WHERE earlier.conversation_id = escalation.conversation_id "
        f"AND earlier.{OPEN} AND earlier.id < escalation.id)"
    )
    op.create_index(
        "uq_escalation_one_open",
        "escalation",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_escalation_one_open", table_name="escalation")
    op.drop_index("ix_escalation_unattended_at", table_name="escalation")
    with op.batch_alter_table("escalation") as batch:
        batch.drop_column("unattended_told_at")
        batch.drop_column("unattended_at")
