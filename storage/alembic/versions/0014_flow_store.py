"""flows as published versions: publications numbered per flow, each flow's status, drafts

Nothing is filled in: at its next start the server publishes the flow files it loads as
revision 1 (origin `file`). The texts stay in `flowversion`, which publications point at.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id", "version"],
            ["flowversion.flow_id", "flowversion.version"],
            name="fk_flow_publication_version",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flow_id", "revision", name="uq_flow_publication_revision"),
    )
    op.create_index(
        "ix_flow_publication_flow", "flow_publication", ["flow_id", "revision"], unique=False
    )
    op.create_table(
        "flow_status",
        sa.Column("flow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.PrimaryKeyConstraint("flow_id"),
    )
    op.create_table(
        "flow_draft",
        sa.Column("flow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("base_revision", sa.Integer(), nullable=True),
        sa.Column("saved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "author"),
    )


def downgrade() -> None:
    op.drop_table("flow_draft")
    op.drop_table("flow_status")
    op.drop_index("ix_flow_publication_flow", table_name="flow_publication")
    op.drop_table("flow_publication")
