"""conversation deadline: when an active interview's reply timeout passes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_index("ix_conversation_expires_at", ["expires_at"], unique=False)
    # running interviews get looked at by the next sweep, which sets their real deadline
    op.execute("UPDATE conversation SET expires_at = updated_at WHERE status = 'active'")


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_expires_at")
        batch_op.drop_column("expires_at")
