"""Sign-in attempts counted in fixed windows per subject (`user:<name>`, `ip:<address>`).

One statement per count, `INSERT … ON CONFLICT … DO UPDATE … RETURNING`, atomic on SQLite
(≥ 3.35) and PostgreSQL, so the limit holds across processes and restarts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import SignInAttempt


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SignInAttempt)


async def count_attempt(*, session: AsyncSession, subject: str, window_start: datetime) -> int:
    """Add one attempt to `subject`'s window; the window's count afterwards."""
    table = SignInAttempt.__table__  # type: ignore[attr-defined]
    insert = _insert(session).values(subject=subject, window_start=window_start, count=1)
    statement = insert.on_conflict_do_update(
        index_elements=["subject", "window_start"],
        set_={"count": table.c.count + 1},
    ).returning(table.c.count)
    return int((await session.exec(statement)).scalar_one())


async def attempts_since(*, session: AsyncSession, subject: str, since: datetime) -> int:
    """Attempts of `subject` in the windows starting at or after `since`."""
    total = await session.exec(
        select(func.coalesce(func.sum(SignInAttempt.count), 0))
        .where(SignInAttempt.subject == subject)
        .where(col(SignInAttempt.window_start) >= since)
    )
    return int(total.one())


async def uncount_attempt(*, session: AsyncSession, subject: str, window_start: datetime) -> None:
    """Take one attempt back (a sign-in that succeeded does not count against an address)."""
    await session.exec(
        update(SignInAttempt)
        .where(col(SignInAttempt.subject) == subject)
        .where(col(SignInAttempt.window_start) == window_start)
        .where(col(SignInAttempt.count) > 0)
        .values(count=col(SignInAttempt.count) - 1)
    )


async def forget(*, session: AsyncSession, subject: str) -> None:
    """Drop every window of `subject` (a user who signed in starts afresh)."""
    await session.exec(delete(SignInAttempt).where(col(SignInAttempt.subject) == subject))


async def purge(*, session: AsyncSession, before: datetime) -> int:
    """Delete windows that started before `before`; how many."""
    done = await session.exec(delete(SignInAttempt).where(col(SignInAttempt.window_start) < before))
    return int(done.rowcount or 0)
