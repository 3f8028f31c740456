"""dashboard: journey stage on answers, when a conversation got its first answer, and the
indexes the dashboard's aggregates need (measured in benchmarks/metrics_api.py)

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-29 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWER_INDEX = "ix_answer_dashboard"
CONVERSATION_INDEX = "ix_conversation_dashboard"


def upgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "journey_stage",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="",
            )
        )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.execute(
        "UPDATE answer SET journey_stage = (SELECT c.journey_stage FROM conversation c "
        "WHERE c.id = answer.conversation_id)"
    )
    op.execute(
        "UPDATE conversation SET answered_at = (SELECT min(a.created_at) FROM answer a "
        "WHERE a.conversation_id = conversation.id)"
    )
    # covering indexes: the aggregates read these and nothing else
    op.create_index(
        ANSWER_INDEX,
        "answer",
        ["metric", "created_at", "scale_low", "scale_high", "score"],
    )
    op.create_index(CONVERSATION_INDEX, "conversation", ["started_at", "status", "answered_at"])


def downgrade() -> None:
    op.drop_index(CONVERSATION_INDEX, table_name="conversation")
    op.drop_index(ANSWER_INDEX, table_name="answer")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_column("journey_stage")
