"""The event cursor: events committed out of id order (PostgreSQL) are still read once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import signals
from storage.database import Sessions
from storage.models import Event
from storage.writes import Writer
from tests.conftest import Clock

pytestmark = pytest.mark.backends("sqlite", "postgresql")
NAMES = ("interview-completed",)
LIFE = timedelta(minutes=2)


async def read(writer: Writer, clock: Clock) -> list[int]:
    """One reader's pass: the new events' ids (the cursor moves in the same transaction)."""
    async with writer.transaction() as session:
        cursor = await signals.lock_cursor(session=session, name="test", now=clock())
        found = await signals.events_after(
            session=session, cursor=cursor, names=NAMES, now=clock(), hole_life=LIFE
        )
        signals.advance(cursor, found, clock())
        session.add(cursor)
    return [e.id for e in found.events if e.id is not None]


async def add(writer: Writer, clock: Clock, event_id: int, name: str = NAMES[0]) -> None:
    async with writer.transaction() as session:
        session.add(Event(id=event_id, name=name, data={}, created_at=clock()))


async def test_an_id_committed_late_is_read_once_and_an_old_hole_is_let_go(
    sessions: Sessions, clock: Clock
) -> None:
    writer = Writer(sessions)
    await add(writer, clock, 1000)
    assert await read(writer, clock) == []  # the first read starts at the newest event
    await add(writer, clock, 1002)
    await add(writer, clock, 1003, name="answer-recorded")  # not wanted, still passed
    await add(writer, clock, 1006)
    assert await read(writer, clock) == [1002, 1006]  # 1001, 1004, 1005 are holes
    clock.advance(seconds=30)
    await add(writer, clock, 1001)  # a transaction that took id 1001 commits now
    await add(writer, clock, 1007)
    assert await read(writer, clock) == [1001, 1007]
    assert await read(writer, clock) == []
    clock.advance(minutes=3)  # 1004 and 1005 were rolled back: given up
    async with sessions() as session:
        cursor = await signals.lock_cursor(session=session, name="test", now=clock())
        assert sorted(cursor.holes) == ["1004", "1005"]
    assert await read(writer, clock) == []
    await add(writer, clock, 1004)  # (never happens: shown only to pin the rule down)
    assert await read(writer, clock) == []
    async with sessions() as session:
        cursor = await signals.lock_cursor(session=session, name="test", now=clock())
        assert (cursor.last_id, cursor.holes) == (1007, {})
