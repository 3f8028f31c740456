"""dashboard: answer and interview tallies kept by triggers, journey stage on answers, when a
conversation got its first answer

Scanning 1,000,000 answers for every dashboard request took seconds on SQLite (measured in
benchmarks/metrics_api.py, see docs/performance.md), so the dashboard sums two small tally
tables instead: one row per UTC day × flow × touchpoint × journey stage × channel ×
language × scale × score (answers), or × status × answered (interviews). Database triggers
keep them exact for every insert, update and delete, whoever writes; this migration fills
them from the rows already there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = ["flow_id", "touchpoint", "journey_stage", "channel", "language"]
ANSWER_KEY = ["day", "metric", "scale_low", "scale_high", "score", *DIMENSIONS]
METRICS = "('nps', 'ces', 'csat')"
"""The metrics the dashboard shows; answers of other metrics are not tallied."""
CONVERSATION_KEY = ["day", *DIMENSIONS, "status", "responded"]


def _key_values(row: str, table: str, sqlite: bool) -> list[str]:
    """The tally key of an `answer` / `conversation` row (`row` is NEW or OLD)."""
    stamp = f"{row}.created_at" if table == "answer" else f"{row}.started_at"
    day = f"date({stamp})" if sqlite else f"to_char({stamp} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    dimensions = [f"{row}.{c}" for c in DIMENSIONS]
    if table == "answer":
        scale = [f"{row}.{c}" for c in ("metric", "scale_low", "scale_high", "score")]
        return [day, *scale, *dimensions]
    return [day, *dimensions, f"{row}.status", f"({row}.answered_at IS NOT NULL)"]


def _counted(row: str, table: str) -> str:
    """Whether the row is tallied at all (scale answers only; every interview)."""
    if table == "conversation":
        return "TRUE"
    present = [f"{row}.{c} IS NOT NULL" for c in ("score", "scale_low", "scale_high")]
    return " AND ".join([f"{row}.metric IN {METRICS}", *present])


def _tally(table: str) -> tuple[str, list[str], str]:
    if table == "answer":
        return "answer_tally", ANSWER_KEY, "answers"
    return "conversation_tally", CONVERSATION_KEY, "conversations"


def _add(row: str, table: str, sqlite: bool) -> str:
    tally, key, count = _tally(table)
    values = ", ".join(_key_values(row, table, sqlite))
    return (
        f"INSERT INTO {tally} ({', '.join(key)}, {count}) SELECT {values}, 1 "
        f"WHERE {_counted(row, table)} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {count} = {tally}.{count} + 1;"
    )


def _remove(row: str, table: str, sqlite: bool) -> str:
    tally, key, count = _tally(table)
    match = " AND ".join(
        f"{column} = {value}"
        for column, value in zip(key, _key_values(row, table, sqlite), strict=True)
    )
    return f"UPDATE {tally} SET {count} = {count} - 1 WHERE {_counted(row, table)} AND {match};"


def _watched(table: str) -> list[str]:
    """The columns whose change moves a row to another tally key."""
    if table == "answer":
        return ["created_at", *DIMENSIONS, "metric", "scale_low", "scale_high", "score"]
    return ["started_at", *DIMENSIONS, "status", "answered_at"]


def _sqlite_triggers(table: str) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _watched(table))
    return [
        f"CREATE TRIGGER {table}_tally_insert AFTER INSERT ON {table} "
        f"BEGIN {_add('NEW', table, True)} END",
        f"CREATE TRIGGER {table}_tally_delete AFTER DELETE ON {table} "
        f"BEGIN {_remove('OLD', table, True)} END",
        f"CREATE TRIGGER {table}_tally_update AFTER UPDATE OF {', '.join(_watched(table))} "
        f"ON {table} WHEN {changed} "
        f"BEGIN {_remove('OLD', table, True)} {_add('NEW', table, True)} END",
    ]


def _postgres_triggers(table: str) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _watched(table))
    old_key = ", ".join(_key_values("OLD", table, False))
    new_key = ", ".join(_key_values("NEW", table, False))
    # two rows locked in key order, so two transactions moving interviews between the same
    # two keys in opposite directions cannot deadlock
    function = f"""
CREATE FUNCTION {table}_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_add("NEW", table, False)}
  ELSIF TG_OP = 'DELETE' THEN
    {_remove("OLD", table, False)}
  ELSIF {changed} THEN
    IF ROW({old_key}) < ROW({new_key}) THEN
      {_remove("OLD", table, False)}
      {_add("NEW", table, False)}
    ELSE
      {_add("NEW", table, False)}
      {_remove("OLD", table, False)}
    END IF;
  END IF;
  RETURN NULL;
END $$"""
    # deferred to commit: a tally row is a hot spot (every interview of a day, flow and
    # channel moves the same few rows), so it is locked only for the commit itself, not
    # from the statement to the end of the transaction — concurrent transactions then wait
    # on each other for microseconds, not for each other's whole handling
    return [
        function,
        f"CREATE CONSTRAINT TRIGGER {table}_tally AFTER INSERT OR DELETE OR UPDATE OF "
        f"{', '.join(_watched(table))} ON {table} DEFERRABLE INITIALLY DEFERRED "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_tally()",
    ]


def _backfill(table: str, sqlite: bool) -> str:
    tally, key, count = _tally(table)
    values = _key_values(table, table, sqlite)
    return (
        f"INSERT INTO {tally} ({', '.join(key)}, {count}) "
        f"SELECT {', '.join(values)}, count(*) FROM {table} "
        f"WHERE {_counted(table, table)} GROUP BY {', '.join(values)}"
    )


def _dimension_columns() -> list[sa.Column[str]]:
    lengths = {"flow_id": 64, "touchpoint": 64, "journey_stage": 32, "channel": 32, "language": 16}
    return [
        sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False)
        for name, length in lengths.items()
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
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
    day = sqlmodel.sql.sqltypes.AutoString(length=10)
    op.create_table(
        "answer_tally",
        sa.Column("day", day, nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("scale_low", sa.Integer(), nullable=False),
        sa.Column("scale_high", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        *_dimension_columns(),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*ANSWER_KEY),
        sqlite_with_rowid=False,
    )
    # each in the order of one query's GROUP BY (SQLite aggregates in index order, no sort)
    op.create_index(
        "ix_answer_tally_slices",
        "answer_tally",
        [*DIMENSIONS, "metric", "scale_low", "scale_high", "score", "answers"],
    )
    op.create_index(
        "ix_answer_tally_scores",
        "answer_tally",
        ["metric", "scale_low", "scale_high", "score", "answers"],
    )
    op.create_table(
        "conversation_tally",
        sa.Column("day", day, nullable=False),
        *_dimension_columns(),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("responded", sa.Boolean(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*CONVERSATION_KEY),
        sqlite_with_rowid=False,
    )
    for table in ("answer", "conversation"):
        op.execute(_backfill(table, sqlite))
        for statement in _sqlite_triggers(table) if sqlite else _postgres_triggers(table):
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in ("answer", "conversation"):
        if sqlite:
            for kind in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_tally_{kind}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_tally ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_tally()")
    op.drop_table("conversation_tally")
    op.drop_table("answer_tally")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_column("journey_stage")
