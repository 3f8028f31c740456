"""The dashboard's figures, aggregated in SQL (GROUP BY with SUM(CASE …)); no answer row is
ever loaded into Python.

Every query takes the same `Filters`. Answers are filtered on their own columns
(`journey_stage` is copied onto the answer by the writer, migration 0009 fills old rows:
measured faster than joining the conversation, see docs/performance.md); conversations on
theirs, with the date range applied to `started_at`.

Days are bucketed in SQL as a 'YYYY-MM-DD' string of the UTC date, the same on SQLite
(the stored text's first ten characters) and PostgreSQL (the UTC date); weeks are made
from days in `admin.dashboard` (pure, so both databases share one rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Executable, case, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, Conversation

METRICS = ("nps", "ces", "csat")
"""The scale metrics the dashboard knows."""
Dimension = Literal["day", "touchpoint", "channel", "flow", "language", "journey_stage"]


@dataclass(frozen=True)
class Filters:
    """What the dashboard is narrowed to; None means everything."""

    start: datetime | None = None
    """Inclusive."""
    end: datetime | None = None
    """Exclusive."""
    flow: str | None = None
    touchpoint: str | None = None
    journey_stage: str | None = None
    channel: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Tally:
    """Additive aggregates of the scale answers of one group (sums of two groups add up)."""

    n: int = 0
    total: int = 0
    """Σ score."""
    squares: int = 0
    """Σ score² (for the standard deviation of a mean)."""
    promoters: int = 0
    """Scores 9–10 (NPS)."""
    detractors: int = 0
    """Scores 0–6 (NPS)."""
    top2: int = 0
    """The two highest points of the scale (CSAT top-2-box; CES 4–5 on the 5-point scale)."""
    top3: int = 0
    """The three highest points (CES 5–7 on the 7-point scale)."""

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.n + other.n,
            self.total + other.total,
            self.squares + other.squares,
            self.promoters + other.promoters,
            self.detractors + other.detractors,
            self.top2 + other.top2,
            self.top3 + other.top3,
        )


Scale = tuple[str, int, int]
"""(metric, lowest, highest)."""


@dataclass(frozen=True)
class TallyRow:
    """One group's tally for one metric on one scale."""

    group: tuple[str, ...]
    scale: Scale
    tally: Tally


async def _rows(session: AsyncSession, statement: Executable) -> list[tuple[Any, ...]]:
    """The rows of an aggregate (through the session's connection: plain Core rows)."""
    connection = await session.connection()
    return [tuple(row) for row in (await connection.execute(statement)).all()]


def _answer_filters(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        col(Answer.metric).in_(METRICS),
        col(Answer.score).is_not(None),
    ]
    if filters.start is not None:
        conditions.append(col(Answer.created_at) >= filters.start)
    if filters.end is not None:
        conditions.append(col(Answer.created_at) < filters.end)
    pairs: list[tuple[Any, str | None]] = [
        (Answer.flow_id, filters.flow),
        (Answer.touchpoint, filters.touchpoint),
        (Answer.journey_stage, filters.journey_stage),
        (Answer.channel, filters.channel),
        (Answer.language, filters.language),
    ]
    conditions += [col(column) == value for column, value in pairs if value is not None]
    return conditions


def day_of(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    """The UTC date of a timestamp column as 'YYYY-MM-DD', on SQLite and PostgreSQL."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (UTCDateTime converts on the way in)
        return func.substr(column, 1, 10)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def _group_column(session: AsyncSession, dimension: Dimension) -> Any:
    if dimension == "day":
        return day_of(session, col(Answer.created_at))
    columns: dict[str, Any] = {
        "touchpoint": Answer.touchpoint,
        "channel": Answer.channel,
        "flow": Answer.flow_id,
        "language": Answer.language,
        "journey_stage": Answer.journey_stage,
    }
    return col(columns[dimension])


def _sums() -> list[Any]:
    score = col(Answer.score)
    high = col(Answer.scale_high)

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    return [
        func.count(),
        func.sum(score),
        func.sum(score * score),
        count_if(score >= 9),
        count_if(score <= 6),
        count_if(score >= high - 1),
        count_if(score >= high - 2),
    ]


async def tallies(
    *, session: AsyncSession, filters: Filters, by: Sequence[Dimension] = ()
) -> list[TallyRow]:
    """Tallies of the scale answers per metric and scale, grouped by `by` (nothing: one
    group per scale)."""
    groups = [_group_column(session, dimension) for dimension in by]
    scale = [col(Answer.metric), col(Answer.scale_low), col(Answer.scale_high)]
    statement = (
        select(*groups, *scale, *_sums())
        .where(*_answer_filters(filters))
        .group_by(*groups, *scale)
    )
    rows = await _rows(session, statement)
    width = len(groups)
    return [
        TallyRow(
            group=tuple("" if value is None else str(value) for value in row[:width]),
            scale=(str(row[width]), int(row[width + 1]), int(row[width + 2])),
            tally=Tally(*(int(value or 0) for value in row[width + 3 :])),
        )
        for row in rows
    ]


async def score_counts(*, session: AsyncSession, filters: Filters) -> list[tuple[Scale, int, int]]:
    """How many answers gave each score: ((metric, low, high), score, count)."""
    scale = [col(Answer.metric), col(Answer.scale_low), col(Answer.scale_high)]
    score = col(Answer.score)
    statement = (
        select(*scale, score, func.count())
        .where(*_answer_filters(filters))
        .group_by(*scale, score)
    )
    rows = await _rows(session, statement)
    return [((str(r[0]), int(r[1]), int(r[2])), int(r[3]), int(r[4])) for r in rows]


@dataclass(frozen=True)
class ConversationCounts:
    """Interviews started in the range, by what became of them."""

    started: int = 0
    responded: int = 0
    """With at least one recorded answer."""
    completed: int = 0
    abandoned: int = 0
    """Closed without finishing: the customer went quiet past the flow's timeout (the
    idle sweep), or stopped."""
    handed_off: int = 0
    active: int = 0


def _conversation_filters(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.start is not None:
        conditions.append(col(Conversation.started_at) >= filters.start)
    if filters.end is not None:
        conditions.append(col(Conversation.started_at) < filters.end)
    pairs: list[tuple[Any, str | None]] = [
        (Conversation.flow_id, filters.flow),
        (Conversation.touchpoint, filters.touchpoint),
        (Conversation.journey_stage, filters.journey_stage),
        (Conversation.channel, filters.channel),
        (Conversation.language, filters.language),
    ]
    return conditions + [col(column) == value for column, value in pairs if value is not None]


async def conversation_counts(*, session: AsyncSession, filters: Filters) -> ConversationCounts:
    """Started / responded / completed / abandoned / handed-off / active interviews."""
    status = col(Conversation.status)

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    statement = select(
        func.count(),
        count_if(col(Conversation.answered_at).is_not(None)),
        count_if(status == "completed"),
        count_if(status == "abandoned"),
        count_if(status == "handed_off"),
        count_if(status == "active"),
    ).where(*_conversation_filters(filters))
    row = (await _rows(session, statement))[0]
    return ConversationCounts(*(int(value) for value in row))


__all__ = [
    "METRICS",
    "ConversationCounts",
    "Dimension",
    "Filters",
    "Tally",
    "TallyRow",
    "conversation_counts",
    "day_of",
    "score_counts",
    "tallies",
]
