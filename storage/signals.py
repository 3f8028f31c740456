"""What the loop's notifier reads: new events past a cursor, and escalations whose opening,
deadline or resolution was not announced yet.

Both are read in the transaction that queues what they announce, with the cursor row locked
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite has one writer), so two app processes never
announce the same thing twice and a crash between reading and queuing loses nothing.

Event ids are increasing but, on PostgreSQL, not committed in order: a transaction holding
id 10 may commit after one holding id 11. A cursor that jumped to 11 would miss 10 for
ever, so the ids skipped over are kept as holes and looked for again until they turn up or
are older than any transaction lasts (then they were rolled back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.loop_tables import EventCursor, LoopSignal
from storage.models import Escalation, Event

MAX_HOLES = 1000
"""Holes kept at most (the oldest are dropped first)."""

OPEN_STATUSES = ("open", "assigned")
"""Escalations nobody has answered yet can be overdue (`first_reply_at` is also empty)."""
DONE_STATUSES = ("resolved", "closed")


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def lock_cursor(*, session: AsyncSession, name: str, now: datetime) -> EventCursor:
    """The cursor `name`, locked for this transaction; made at the newest event the first
    time (what happened before a reader existed is not announced)."""
    if await session.get(EventCursor, name) is None:
        newest = (await session.exec(select(func.coalesce(func.max(Event.id), 0)))).one()
        statement = _insert(session, EventCursor).values(
            name=name, last_id=int(newest or 0), holes={}, updated_at=now
        )
        await session.exec(statement.on_conflict_do_nothing(index_elements=["name"]))
    found = await session.exec(
        select(EventCursor).where(col(EventCursor.name) == name).with_for_update()
    )
    cursor = found.one()
    await session.refresh(cursor)
    return cursor


@dataclass(frozen=True)
class NewEvents:
    """Events past a cursor, and where the cursor moves once they are handled."""

    events: list[Event]
    last_id: int
    holes: dict[str, str]


async def events_after(
    *,
    session: AsyncSession,
    cursor: EventCursor,
    names: Sequence[str],
    now: datetime,
    hole_life: timedelta,
    limit: int = 500,
) -> NewEvents:
    """The events named `names` past `cursor` (and in its holes), oldest first, with the
    cursor's next position; `advance` stores it."""
    holes = {int(k): v for k, v in (cursor.holes or {}).items()}
    ids = list(
        (
            await session.exec(
                select(Event.id)
                .where(col(Event.id) > cursor.last_id)
                .order_by(col(Event.id))
                .limit(limit)
            )
        ).all()
    )
    found_holes: list[int] = []
    if holes:
        found_holes = [
            i
            for i in (await session.exec(select(Event.id).where(col(Event.id).in_(holes)))).all()
            if i is not None
        ]
    last = cursor.last_id
    for event_id in ids:
        assert event_id is not None
        for missing in range(last + 1, min(event_id, last + 1 + MAX_HOLES)):
            holes[missing] = now.isoformat()
        last = event_id
    for event_id in found_holes:
        holes.pop(event_id, None)
    oldest_kept = now - hole_life
    kept = {
        str(k): v
        for k, v in sorted(holes.items())[-MAX_HOLES:]
        if datetime.fromisoformat(v) > oldest_kept
    }
    wanted = [i for i in [*found_holes, *ids] if i is not None]
    events: list[Event] = []
    if wanted:
        rows = await session.exec(
            select(Event)
            .where(col(Event.id).in_(wanted), col(Event.name).in_(list(names)))
            .order_by(col(Event.id))
        )
        events = list(rows.all())
    return NewEvents(events, last, kept)


def advance(cursor: EventCursor, moved: NewEvents, now: datetime) -> None:
    """Store the cursor's new position (in the transaction that handled the events)."""
    if cursor.last_id == moved.last_id and cursor.holes == moved.holes:
        return  # nothing new: no write (SQLite's one writer has better things to do)
    cursor.last_id = moved.last_id
    cursor.holes = dict(moved.holes)
    cursor.updated_at = now


def _unsignalled(kind: str) -> Any:
    return ~exists().where(
        col(LoopSignal.escalation_id) == col(Escalation.id), col(LoopSignal.kind) == kind
    )


async def unannounced(
    *, session: AsyncSession, kind: str, now: datetime, limit: int = 100
) -> list[Escalation]:
    """Escalations whose `kind` (opened, overdue, resolved) was not announced yet, oldest
    first: every new one; open ones past their deadline that no agent answered; resolved or
    closed ones."""
    where: list[Any] = [_unsignalled(kind)]
    if kind == "overdue":
        where += [
            col(Escalation.due_at) <= now,
            col(Escalation.status).in_(OPEN_STATUSES),
            col(Escalation.first_reply_at).is_(None),
        ]
    elif kind == "resolved":
        where.append(
            or_(
                col(Escalation.status).in_(DONE_STATUSES),
                col(Escalation.resolved_at).is_not(None),
            )
        )
    rows = await session.exec(
        select(Escalation).where(*where).order_by(col(Escalation.id)).limit(limit)
    )
    return list(rows.all())


async def mark_announced(
    *, session: AsyncSession, escalation_id: int, kind: str, now: datetime
) -> bool:
    """Record that `kind` of this escalation is announced; False when it already was (by
    another process: then the caller queues nothing)."""
    statement = (
        _insert(session, LoopSignal)
        .values(escalation_id=escalation_id, kind=kind, created_at=now)
        .on_conflict_do_nothing(index_elements=["escalation_id", "kind"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def open_counts(*, session: AsyncSession, now: datetime) -> tuple[int, int]:
    """(open cases, overdue cases): not yet resolved or closed; overdue = unanswered past
    the deadline (the nav badge)."""
    late = and_(
        col(Escalation.due_at) <= now,
        col(Escalation.status).in_(OPEN_STATUSES),
        col(Escalation.first_reply_at).is_(None),
    )
    statement = select(func.count(), func.coalesce(func.sum(case((late, 1), else_=0)), 0)).where(
        col(Escalation.status).not_in(DONE_STATUSES)
    )
    total, overdue = (await session.exec(statement)).one()
    return int(total), int(overdue)
