"""`reading`: the dashboard's read-only snapshot never holds up a writer, and sees one
moment of the database across its statements (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func
from sqlmodel import select

from storage import queries
from storage.database import Sessions, reading, transaction
from storage.models import Customer

pytestmark = pytest.mark.backends("sqlite", "postgresql")


async def count(session: object) -> int:
    result = await session.exec(select(func.count()).select_from(Customer))  # type: ignore[attr-defined]
    return int(result.one())


async def test_a_write_commits_while_a_reading_is_open_and_the_reading_keeps_its_snapshot(
    sessions: Sessions,
) -> None:
    async with reading(sessions) as snapshot:
        assert await count(snapshot) == 0

        async def write() -> None:
            async with transaction(sessions) as session:
                await queries.get_or_create_customer(
                    session=session, channel="web", external_id="new"
                )

        # with BEGIN IMMEDIATE the reading would hold SQLite's write lock and this would wait
        # for the busy timeout (2 s) and fail; it must finish at once
        await asyncio.wait_for(write(), timeout=1.5)
        assert await count(snapshot) == 0  # still the moment the reading started
    async with reading(sessions) as later:
        assert await count(later) == 1
