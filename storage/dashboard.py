"""The dashboard's figures, aggregated in SQL (GROUP BY with SUM(CASE …)).

The queries read two tally tables that database triggers keep exact (migration 0009):
`answer_tally` counts scale answers per UTC day, filter values, scale and score;
`conversation_tally` counts interviews per UTC start day, filter values, status and whether
they got an answer. A year of a million answers is a few ten thousand tally rows, so every
figure is a sum over those (benchmarks/metrics_api.py; scanning the answers themselves took
seconds on SQLite). Days are 'YYYY-MM-DD' strings of the UTC date on both databases; weeks
are made from days in `admin.dashboard` (pure, so both databases share one rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Executable, case, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AnswerTally, ConversationTally

METRICS = ("nps", "ces", "csat")
"""The scale metrics the dashboard knows."""
Dimension = Literal["day", "touchpoint", "channel", "flow", "language", "journey_stage"]
SLICE_ORDER: tuple[Dimension, ...] = ("flow", "touchpoint", "journey_stage", "channel", "language")
"""The slice dimensions in the order of `ix_answer_tally_slices`."""


@dataclass(frozen=True)
class Filters:
    """What the dashboard is narrowed to; None means everything."""

    first_day: date | None = None
    """Inclusive, UTC."""
    last_day: date | None = None
    """Inclusive, UTC."""
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


def _filters(table: type[AnswerTally] | type[ConversationTally], filters: Filters) -> list[Any]:
    conditions: list[Any] = []
    if filters.first_day is not None:
        conditions.append(col(table.day) >= filters.first_day.isoformat())
    if filters.last_day is not None:
        conditions.append(col(table.day) <= filters.last_day.isoformat())
    pairs: list[tuple[Any, str | None]] = [
        (table.flow_id, filters.flow),
        (table.touchpoint, filters.touchpoint),
        (table.journey_stage, filters.journey_stage),
        (table.channel, filters.channel),
        (table.language, filters.language),
    ]
    return conditions + [col(column) == value for column, value in pairs if value is not None]


def _answer_filters(filters: Filters) -> list[Any]:
    # no condition on the metric: only METRICS are tallied, and a condition on it would
    # lead SQLite to the scores index for every query (and to a sort)
    return _filters(AnswerTally, filters)


def _group_column(dimension: Dimension) -> Any:
    columns: dict[str, Any] = {
        "day": AnswerTally.day,
        "touchpoint": AnswerTally.touchpoint,
        "channel": AnswerTally.channel,
        "flow": AnswerTally.flow_id,
        "language": AnswerTally.language,
        "journey_stage": AnswerTally.journey_stage,
    }
    return col(columns[dimension])


def _sums() -> list[Any]:
    score = col(AnswerTally.score)
    high = col(AnswerTally.scale_high)
    answers = col(AnswerTally.answers)

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, answers), else_=0))

    return [
        func.sum(answers),
        func.sum(answers * score),
        func.sum(answers * score * score),
        count_if(score >= 9),
        count_if(score <= 6),
        count_if(score >= high - 1),
        count_if(score >= high - 2),
    ]


async def tallies(
    *, session: AsyncSession, filters: Filters, by: Sequence[Dimension] = ()
) -> list[TallyRow]:
    """Tallies of the scale answers per metric and scale, grouped by `by` (nothing: one
    group per scale); groups without answers are left out. Group by ("day",) or by
    `SLICE_ORDER` (the orders of the table's key and of its slices index: no sort)."""
    groups = [_group_column(dimension) for dimension in by]
    scale = [col(AnswerTally.metric), col(AnswerTally.scale_low), col(AnswerTally.scale_high)]
    statement = (
        select(*groups, *scale, *_sums())
        .where(*_answer_filters(filters))
        .group_by(*groups, *scale)
        .having(func.sum(col(AnswerTally.answers)) > 0)
    )
    rows = await _rows(session, statement)
    width = len(groups)
    return [
        TallyRow(
            group=tuple(str(value) for value in row[:width]),
            scale=(str(row[width]), int(row[width + 1]), int(row[width + 2])),
            tally=Tally(*(int(value or 0) for value in row[width + 3 :])),
        )
        for row in rows
    ]


async def score_counts(*, session: AsyncSession, filters: Filters) -> list[tuple[Scale, int, int]]:
    """How many answers gave each score: ((metric, low, high), score, count)."""
    scale = [col(AnswerTally.metric), col(AnswerTally.scale_low), col(AnswerTally.scale_high)]
    score = col(AnswerTally.score)
    answers = func.sum(col(AnswerTally.answers))
    statement = (
        select(*scale, score, answers)
        .where(*_answer_filters(filters))
        .group_by(*scale, score)
        .having(answers > 0)
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


NOT_INTERVIEWS = ("direct-handoff",)
"""Conversations that are not surveys (a customer asking for a person with no interview
running, `cxbot/direct_handoff.py`): left out of the interview counts and rates."""


async def conversation_counts(*, session: AsyncSession, filters: Filters) -> ConversationCounts:
    """Started / responded / completed / abandoned / handed-off / active interviews."""
    status = col(ConversationTally.status)
    count = col(ConversationTally.conversations)

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, count), else_=0)), 0)

    statement = select(
        func.coalesce(func.sum(count), 0),
        count_if(col(ConversationTally.responded)),
        count_if(status == "completed"),
        count_if(status == "abandoned"),
        count_if(status == "handed_off"),
        count_if(status == "active"),
    ).where(
        *_filters(ConversationTally, filters),
        col(ConversationTally.flow_id).not_in(NOT_INTERVIEWS),
    )
    (row,) = await _rows(session, statement)
    return ConversationCounts(*(int(value) for value in row))


async def filter_values(*, session: AsyncSession) -> dict[str, list[str]]:
    """Every value each filter can take (from the interview tally: a few hundred rows)."""
    columns = {
        "flow": ConversationTally.flow_id,
        "touchpoint": ConversationTally.touchpoint,
        "journey_stage": ConversationTally.journey_stage,
        "channel": ConversationTally.channel,
        "language": ConversationTally.language,
    }
    statement = (
        select(*(col(c) for c in columns.values()))
        .where(
            col(ConversationTally.conversations) > 0,
            col(ConversationTally.flow_id).not_in(NOT_INTERVIEWS),
        )
        .group_by(*(col(c) for c in columns.values()))
    )
    rows = await _rows(session, statement)
    return {
        name: sorted({str(row[position]) for row in rows if row[position]})
        for position, name in enumerate(columns)
    }


__all__ = [
    "METRICS",
    "SLICE_ORDER",
    "ConversationCounts",
    "Dimension",
    "Filters",
    "Tally",
    "TallyRow",
    "conversation_counts",
    "filter_values",
    "score_counts",
    "tallies",
]
