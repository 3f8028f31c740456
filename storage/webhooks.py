"""Registered webhook endpoints: the URLs admins chose, the events each gets, its secret."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.loop_tables import WebhookEndpoint

EVENTS = (
    "escalation.opened",
    "escalation.overdue",
    "escalation.resolved",
    "detractor.recorded",
    "interview.completed",
)
"""What an endpoint can subscribe to (docs/api.md describes each payload)."""


async def add_endpoint(
    *,
    session: AsyncSession,
    url: str,
    events: Sequence[str],
    secret: str,
    now: datetime,
    created_by: str | None,
) -> WebhookEndpoint:
    """Register a URL for some events."""
    endpoint = WebhookEndpoint(
        url=url, events=list(events), secret=secret, created_at=now, created_by=created_by
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def list_endpoints(
    *, session: AsyncSession, include_removed: bool = False
) -> list[WebhookEndpoint]:
    """The endpoints, oldest first."""
    statement = select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))
    if not include_removed:
        statement = statement.where(col(WebhookEndpoint.removed_at).is_(None))
    return list((await session.exec(statement)).all())


async def subscribers(*, session: AsyncSession, event: str) -> list[WebhookEndpoint]:
    """The endpoints (not removed) that get `event`."""
    return [e for e in await list_endpoints(session=session) if event in e.events]


async def remove_endpoint(
    *, session: AsyncSession, endpoint_id: int, now: datetime
) -> WebhookEndpoint | None:
    """Stop sending to an endpoint (its history stays); None when there is no such one."""
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.removed_at is not None:
        return None
    endpoint.removed_at = now
    session.add(endpoint)
    return endpoint
