"""language intelligence: the analysis queue, answer analyses, escalation summaries and the
model's token usage per day

Answers and escalations that exist already are not queued: `cxbot analyze --since DATE`
analyzes them on purpose.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "analysis_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(length=16), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("state", _text(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("claimed_at", _time(), nullable=True),
        sa.Column("last_error", _text(length=200), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("done_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "ref_id", name="uq_analysis_job_kind_ref"),
    )
    op.create_index(
        "ix_analysis_job_due", "analysis_job", ["state", "next_attempt_at"], unique=False
    )
    op.create_table(
        "answer_analysis",
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("sentiment", _text(length=16), nullable=False),
        sa.Column("vague", sa.Boolean(), nullable=False),
        sa.Column("source", _text(length=16), nullable=False),
        sa.Column("model", _text(length=100), nullable=False),
        sa.Column("prompt_version", _text(length=32), nullable=False),
        sa.Column("analyzed_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answer.id"]),
        sa.PrimaryKeyConstraint("answer_id"),
    )
    op.create_index(
        "ix_answer_analysis_analyzed_at", "answer_analysis", ["analyzed_at"], unique=False
    )
    op.create_table(
        "escalation_summary",
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", _text(length=16), nullable=False),
        sa.Column("model", _text(length=100), nullable=False),
        sa.Column("prompt_version", _text(length=32), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("escalation_id"),
    )
    op.create_table(
        "model_usage",
        sa.Column("day", _text(length=10), nullable=False),
        sa.Column("model", _text(length=100), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model"),
    )
    # the scan for new answers and cases starts after what exists now
    op.execute(
        "INSERT INTO event_cursor (name, last_id, holes, updated_at) "
        "SELECT 'analysis-answers', COALESCE(MAX(id), 0), '{}', CURRENT_TIMESTAMP FROM answer"
    )
    op.execute(
        "INSERT INTO event_cursor (name, last_id, holes, updated_at) "
        "SELECT 'analysis-summaries', COALESCE(MAX(id), 0), '{}', CURRENT_TIMESTAMP "
        "FROM escalation"
    )


def downgrade() -> None:
    op.execute("DELETE FROM event_cursor WHERE name IN ('analysis-answers', 'analysis-summaries')")
    op.drop_table("model_usage")
    op.drop_table("escalation_summary")
    op.drop_index("ix_answer_analysis_analyzed_at", table_name="answer_analysis")
    op.drop_table("answer_analysis")
    op.drop_index("ix_analysis_job_due", table_name="analysis_job")
    op.drop_table("analysis_job")
