"""The closed loop's figures in SQL: escalations opened, how fast agents first replied (the
median), the share answered and resolved by the deadline, outcomes and closing answers.

A direct aggregate over `escalation` (joined to its conversation for the dashboard's
filters): escalations are a small share of interviews, so no tally table is needed. Cases
count in the period they were opened (UTC days, both ends included, as on the dashboard).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Executable, and_, case, func, literal, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.dashboard import Filters
from storage.models import Conversation, Escalation

DONE = ("resolved", "closed")
UNANSWERED = ("open", "assigned")


@dataclass(frozen=True)
class LoopCounts:
    """What `loop_counts` found; `admin.dashboard.loop_figures` turns it into shares."""

    opened: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    """Unanswered (open or assigned, no agent reply) past the deadline now."""
    replied: int = 0
    replied_in_time: int = 0
    reply_decided: int = 0
    """Cases answered, or past their deadline unanswered (whether the reply was in time is
    known)."""
    resolved_in_time: int = 0
    resolve_decided: int = 0
    """Cases resolved or closed, or past their deadline (whether that was in time is known)."""
    median_reply_seconds: float | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    closing: dict[str, int] = field(default_factory=dict)
    """Answers to the closing question of resolved cases: yes, no, none."""


def _where(filters: Filters) -> list[Any]:
    where: list[Any] = []
    if filters.first_day is not None:
        where.append(col(Escalation.created_at) >= datetime.combine(filters.first_day, time(), UTC))
    if filters.last_day is not None:
        end = datetime.combine(filters.last_day, time(), UTC) + timedelta(days=1)
        where.append(col(Escalation.created_at) < end)
    for name in ("flow", "touchpoint", "journey_stage", "channel", "language"):
        value = getattr(filters, name)
        if value is not None:
            column = "flow_id" if name == "flow" else name
            where.append(getattr(Conversation, column) == value)
    return where


def _seconds(session: AsyncSession, later: Any, earlier: Any) -> Any:
    """`later - earlier` in seconds, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * literal(86400.0)


async def _rows(session: AsyncSession, statement: Executable) -> list[tuple[Any, ...]]:
    connection = await session.connection()
    return [tuple(row) for row in (await connection.execute(statement)).all()]


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def loop_counts(*, session: AsyncSession, filters: Filters, now: datetime) -> LoopCounts:
    """The loop's counts for escalations opened within `filters`."""
    where = _where(filters)
    e = Escalation
    replied = col(e.first_reply_at).is_not(None)
    finished = or_(col(e.status).in_(DONE), col(e.resolved_at).is_not(None))
    past_due = col(e.due_at) <= now
    totals = select(
        func.count(),
        _count(and_(past_due, col(e.status).in_(UNANSWERED), ~replied)),
        _count(replied),
        _count(and_(replied, col(e.first_reply_at) <= col(e.due_at))),
        _count(or_(replied, past_due)),
        _count(and_(col(e.resolved_at).is_not(None), col(e.resolved_at) <= col(e.due_at))),
        _count(or_(finished, past_due)),
    ).join_from(Escalation, Conversation, col(Conversation.id) == col(Escalation.conversation_id))
    (row,) = await _rows(session, totals.where(*where))
    opened, overdue, n_replied, in_time, reply_decided, resolved_in_time, resolve_decided = (
        int(v or 0) for v in row
    )

    def grouped(column: Any, *extra: Any) -> Any:
        return (
            select(column, func.count())
            .join_from(
                Escalation, Conversation, col(Conversation.id) == col(Escalation.conversation_id)
            )
            .where(*where, *extra)
            .group_by(column)
        )

    statuses = {str(k): int(n) for k, n in await _rows(session, grouped(col(e.status)))}
    outcomes = {
        str(k): int(n)
        for k, n in await _rows(session, grouped(col(e.outcome), col(e.outcome).is_not(None)))
    }
    closing = {"yes": 0, "no": 0, "none": 0}
    answers = grouped(col(e.closing_answer), col(e.status) == "resolved")
    for answer, n in await _rows(session, answers):
        key = answer if answer in ("yes", "no") else "none"
        closing[key] += int(n)
    return LoopCounts(
        opened=opened,
        statuses=statuses,
        overdue=overdue,
        replied=n_replied,
        replied_in_time=in_time,
        reply_decided=reply_decided,
        resolved_in_time=resolved_in_time,
        resolve_decided=resolve_decided,
        median_reply_seconds=await _median_reply(session, where, n_replied),
        outcomes=outcomes,
        closing=closing,
    )


async def _median_reply(session: AsyncSession, where: list[Any], n: int) -> float | None:
    """The median of (first reply − opened) in seconds: the middle row or two, by SQL's
    ORDER BY … LIMIT … OFFSET."""
    if n == 0:
        return None
    seconds = _seconds(session, col(Escalation.first_reply_at), col(Escalation.created_at))
    middle = (
        select(seconds)
        .join_from(
            Escalation, Conversation, col(Conversation.id) == col(Escalation.conversation_id)
        )
        .where(*where, col(Escalation.first_reply_at).is_not(None))
        .order_by(seconds)
        .offset((n - 1) // 2)
        .limit(1 if n % 2 else 2)
    )
    values = [float(v) for (v,) in await _rows(session, middle)]
    return round(sum(values) / len(values), 1)
