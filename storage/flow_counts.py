"""Live counts for the flow list: interviews started since a day, and how many completed —
read from the dashboard's tally (`conversation_tally`, kept by triggers), so the figures are
the dashboard's and the cost does not grow with the number of conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationTally


@dataclass(frozen=True)
class FlowCounts:
    """Interviews of one flow started since a day, and how many of them completed."""

    started: int
    completed: int


async def counts_since(*, session: AsyncSession, first_day: date) -> dict[str, FlowCounts]:
    """flow id -> its interviews started on `first_day` (UTC) or later."""
    count = col(ConversationTally.conversations)
    completed = func.sum(case((col(ConversationTally.status) == "completed", count), else_=0))
    statement = (
        select(ConversationTally.flow_id, func.sum(count), completed)
        .where(col(ConversationTally.day) >= first_day.isoformat())
        .group_by(col(ConversationTally.flow_id))
    )
    return {
        flow_id: FlowCounts(int(started or 0), int(done or 0))
        for flow_id, started, done in (await session.exec(statement)).all()
    }
