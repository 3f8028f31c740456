"""Quiet periods: one completed response per customer per flow within the flow's
`quiet_days` (a restart, a deep link or an API start is declined politely meanwhile)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.loader import LoadedFlow
from storage import queries
from storage.turn_rows import CustomerRow


async def quiet_period_end(
    session: AsyncSession, customer: CustomerRow, starting: LoadedFlow | None, at: datetime
) -> datetime | None:
    """When the flow's quiet period for this customer ends, if they completed it within it;
    None when the flow may start."""
    if starting is None or starting.flow.quiet_days <= 0:
        return None
    period = timedelta(days=starting.flow.quiet_days)
    done = await queries.completed_since(
        session=session, customer_id=customer.id, flow_id=starting.flow.id, since=at - period
    )
    if done is None or done.ended_at is None:
        return None
    return done.ended_at + period
