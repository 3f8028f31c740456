"""closed loop, around it: the event cursor, escalation signals, webhook endpoints and the
dispatch queue (notifications and webhook deliveries)

Events and escalations that exist already are marked as announced (opened, overdue, resolved as they
stand), so turning notifications on does not page the agents about old cases. The escalation
columns the loop's figures read (`first_reply_at`, `closing_answer`) come from migration
0011 (the agents' side).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_cursor",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("holes", sa.JSON(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "loop_signal",
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("escalation_id", "kind"),
    )
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("removed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_status", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("last_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "dispatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=True),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_status", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target", "key", name="uq_dispatch_target_key"),
    )
    op.create_index("ix_dispatch_due", "dispatch", ["state", "next_attempt_at"], unique=False)
    op.create_index("ix_dispatch_endpoint_id", "dispatch", ["endpoint_id"], unique=False)
    # what exists already was never announced: do not page the agents about it now
    now = "CURRENT_TIMESTAMP"
    op.execute(
        f"INSERT INTO event_cursor (name, last_id, holes, updated_at) "
        f"SELECT 'loop-notices', COALESCE(MAX(id), 0), '{{}}', {now} FROM event"
    )
    op.execute(
        f"INSERT INTO loop_signal (escalation_id, kind, created_at) "
        f"SELECT id, 'opened', {now} FROM escalation"
    )
    op.execute(
        f"INSERT INTO loop_signal (escalation_id, kind, created_at) "
        f"SELECT id, 'overdue', {now} FROM escalation WHERE due_at <= {now}"
    )
    op.execute(
        f"INSERT INTO loop_signal (escalation_id, kind, created_at) SELECT id, 'resolved', "
        f"{now} FROM escalation WHERE status IN ('resolved', 'closed') OR resolved_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_dispatch_endpoint_id", table_name="dispatch")
    op.drop_index("ix_dispatch_due", table_name="dispatch")
    op.drop_table("dispatch")
    op.drop_table("webhook_endpoint")
    op.drop_table("loop_signal")
    op.drop_table("event_cursor")
