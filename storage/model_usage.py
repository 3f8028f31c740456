"""Tokens the language model used per UTC day: the daily budget every process shares, and
the figures the admin page shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.analysis_tables import ModelUsage


@dataclass(frozen=True)
class DayUsage:
    """One day's use of one model."""

    day: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    calls: int
    failures: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


async def tokens_on(*, session: AsyncSession, day: str) -> int:
    """Tokens used on `day` (YYYY-MM-DD, UTC) by every model."""
    total = await session.exec(
        select(
            func.coalesce(func.sum(ModelUsage.prompt_tokens + ModelUsage.completion_tokens), 0)
        ).where(col(ModelUsage.day) == day)
    )
    return int(total.one() or 0)


async def add(
    *,
    session: AsyncSession,
    day: str,
    model: str,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    failed: bool = False,
) -> None:
    """Count one call (its tokens; whether it failed) in one statement, whichever process
    makes it."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ModelUsage)
    statement = insert.values(
        day=day,
        model=model[:100],
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        calls=1,
        failures=int(failed),
    )
    statement = statement.on_conflict_do_update(
        index_elements=["day", "model"],
        set_={
            "prompt_tokens": ModelUsage.prompt_tokens + statement.excluded.prompt_tokens,
            "completion_tokens": ModelUsage.completion_tokens
            + statement.excluded.completion_tokens,
            "calls": ModelUsage.calls + 1,
            "failures": ModelUsage.failures + statement.excluded.failures,
        },
    )
    await session.exec(statement)


async def recent(*, session: AsyncSession, since_day: str) -> list[DayUsage]:
    """Each day's use since `since_day`, newest first."""
    rows = await session.exec(
        select(ModelUsage)
        .where(col(ModelUsage.day) >= since_day)
        .order_by(col(ModelUsage.day).desc(), col(ModelUsage.model))
    )
    return [
        DayUsage(r.day, r.model, r.prompt_tokens, r.completion_tokens, r.calls, r.failures)
        for r in rows.all()
    ]
