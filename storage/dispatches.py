"""The dispatch queue: calls to make outside cxbot (webhook deliveries, notices to the
agents' Telegram group and WeCom robot), durable, claimed with a lease, retried with backoff.

A row is `pending` until `next_attempt_at`, `sending` while one sender holds it (until
`claimed_at` + the lease: a sender that died lets another take it over), then `sent` or
`failed`. Only `cxbot/dispatcher.py` and the notifier (`cxbot/notices.py`) call these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.loop_tables import Dispatch, WebhookEndpoint


def _claimable(now: datetime, lease: timedelta) -> Any:
    return or_(
        and_(col(Dispatch.state) == "pending", col(Dispatch.next_attempt_at) <= now),
        and_(col(Dispatch.state) == "sending", col(Dispatch.claimed_at) < now - lease),
    )


async def enqueue(
    *,
    session: AsyncSession,
    target: str,
    key: str,
    event: str,
    payload: dict[str, Any],
    now: datetime,
    endpoint_id: int | None = None,
) -> bool:
    """Queue one call; False when (target, key) is queued already (nothing changes)."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Dispatch)
    statement = insert.values(
        target=target,
        endpoint_id=endpoint_id,
        key=key,
        event=event,
        payload=payload,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["target", "key"])
    result = await session.exec(statement)
    return bool(result.rowcount)


async def due(
    *, session: AsyncSession, now: datetime, lease: timedelta, limit: int = 50
) -> list[int]:
    """Ids of calls that may be made now, oldest first."""
    rows = await session.exec(
        select(Dispatch.id)
        .where(_claimable(now, lease))
        .order_by(col(Dispatch.next_attempt_at), col(Dispatch.id))
        .limit(limit)
    )
    return [i for i in rows.all() if i is not None]


async def claim(
    *, session: AsyncSession, dispatch_id: int, now: datetime, lease: timedelta
) -> Dispatch | None:
    """Take one call for this sender (a conditional UPDATE: one taker wins), or None."""
    statement = (
        update(Dispatch)
        .where(col(Dispatch.id) == dispatch_id, _claimable(now, lease))
        .values(state="sending", claimed_at=now, attempts=col(Dispatch.attempts) + 1)
    )
    result = await session.exec(statement)
    if not result.rowcount:
        return None
    found = await session.exec(
        select(Dispatch)
        .where(col(Dispatch.id) == dispatch_id)
        .execution_options(populate_existing=True)
    )
    return found.one()


def _held(dispatch_id: int, since: datetime) -> Any:
    """The row as its holder left it: a sender whose claim was taken over changes nothing."""
    return and_(
        col(Dispatch.id) == dispatch_id,
        col(Dispatch.state) == "sending",
        col(Dispatch.claimed_at) == since,
    )


async def finish(
    *,
    session: AsyncSession,
    job: Dispatch,
    since: datetime,
    now: datetime,
    state: str,
    status: str,
    retry_at: datetime | None = None,
) -> bool:
    """Record an attempt: `sent`, `failed`, or `pending` again until `retry_at`; also on
    the webhook endpoint's row (its last status). False when the claim was lost."""
    assert job.id is not None
    values: dict[str, Any] = {"state": state, "last_status": status[:200]}
    if state == "sent":
        values["sent_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    result = await session.exec(update(Dispatch).where(_held(job.id, since)).values(**values))
    if not result.rowcount:
        return False
    if job.endpoint_id is not None:
        endpoint: dict[str, Any] = {"last_status": status[:200], "last_attempt_at": now}
        if state == "sent":
            endpoint["last_success_at"] = now
        await session.exec(
            update(WebhookEndpoint)
            .where(col(WebhookEndpoint.id) == job.endpoint_id)
            .values(**endpoint)
        )
    return True


async def recent(
    *, session: AsyncSession, targets: Sequence[str] | None = None, limit: int = 50
) -> list[Dispatch]:
    """The latest calls (all, or to some targets), newest first."""
    statement = select(Dispatch).order_by(col(Dispatch.id).desc()).limit(limit)
    if targets is not None:
        statement = statement.where(col(Dispatch.target).in_(list(targets)))
    return list((await session.exec(statement)).all())


async def cancel_for_endpoint(*, session: AsyncSession, endpoint_id: int, status: str) -> None:
    """Give up what is still queued for a removed endpoint."""
    await session.exec(
        update(Dispatch)
        .where(col(Dispatch.endpoint_id) == endpoint_id, col(Dispatch.state) == "pending")
        .values(state="failed", last_status=status)
    )


async def prune(*, session: AsyncSession, before: datetime) -> int:
    """Forget finished calls (sent or given up) made before `before`; how many."""
    result = await session.exec(
        delete(Dispatch).where(
            col(Dispatch.state).in_(("sent", "failed")), col(Dispatch.created_at) < before
        )
    )
    return int(result.rowcount)
