"""Live counts for the flow list: interviews started since a time, and how many completed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation


@dataclass(frozen=True)
class FlowCounts:
    """Interviews of one flow started since a time, and how many of them completed."""

    started: int
    completed: int


async def counts_since(*, session: AsyncSession, since: datetime) -> dict[str, FlowCounts]:
    """flow id -> its interviews started at or after `since` (one grouped query over the
    `started_at` index)."""
    completed = func.sum(case((col(Conversation.status) == "completed", 1), else_=0))
    statement = (
        select(Conversation.flow_id, func.count(), completed)
        .where(col(Conversation.started_at) >= since)
        .group_by(col(Conversation.flow_id))
    )
    return {
        flow_id: FlowCounts(int(started), int(done or 0))
        for flow_id, started, done in (await session.exec(statement)).all()
    }
