"""The outbox: outbound transcript rows as a durable queue of messages to deliver.

An outbound row is `pending` (waiting, perhaps until `retry_at`), `sending` (held by a
sender whose lease is `claimed_at` + the lease length, renewed while it works), `sent` or
`failed`. Only the delivery path (`cxbot/delivery.py`) calls these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Customer, Message


def _claimable(now: datetime, lease: timedelta, table: Any = Message) -> Any:
    """Rows a sender may take now: pending and due, or held by a sender whose lease ran out."""
    return or_(
        and_(
            col(table.delivery_state) == "pending",
            or_(col(table.retry_at).is_(None), col(table.retry_at) <= now),
        ),
        and_(col(table.delivery_state) == "sending", col(table.claimed_at) < now - lease),
    )


def _behind_unsent(now: datetime, lease: timedelta) -> Any:
    """Rows with an earlier outbound row to the same customer that is unsent and may not be
    taken now (another live sender's, or a retry not yet due): a customer's messages leave
    in the order they were stored, across processes. An earlier row a sweeper may take now
    does not count (the sweeper takes both, oldest first)."""
    earlier: Any = aliased(Message)
    return exists().where(
        col(earlier.customer_id) == col(Message.customer_id),
        col(earlier.direction) == "out",
        col(earlier.id) < col(Message.id),
        col(earlier.delivery_state).in_(("pending", "sending")),
        ~_claimable(now, lease, earlier),
    )


_UNSENT_TO = (
    select(Message.id)
    .where(
        col(Message.customer_id) == bindparam("customer_id"),
        col(Message.direction) == "out",
        col(Message.delivery_state).in_(("pending", "sending")),
    )
    .limit(1)
)
"""Built once: a reply to a customer on a channel that sends asks it every time."""


async def unsent_to(*, session: AsyncSession, customer_id: int) -> bool:
    """Whether an outbound message to this customer is still unsent (pending, or being sent,
    perhaps by another process): a new one must queue behind it, not overtake it."""
    result = await session.exec(_UNSENT_TO, params={"customer_id": customer_id})
    return result.first() is not None


async def next_in_line(
    *, session: AsyncSession, after: int, now: datetime, lease: timedelta, limit: int = 20
) -> list[Message]:
    """Claim the messages queued behind message `after` (to the same customer) that may go
    now, oldest first, for the caller that has just finished with `after`: the unsent rows
    up to the first one that must wait (a retry not due, or another live sender's)."""
    customer = select(Message.customer_id).where(col(Message.id) == after).scalar_subquery()
    statement = (
        select(Message)
        .where(
            col(Message.customer_id) == customer,
            col(Message.direction) == "out",
            col(Message.delivery_state).in_(("pending", "sending")),
        )
        .order_by(col(Message.id))
        .limit(limit)
    )
    line: list[Message] = []
    for row in (await session.exec(statement)).all():
        due = (
            row.delivery_state == "pending" and (row.retry_at is None or row.retry_at <= now)
        ) or (
            row.delivery_state == "sending"
            and row.claimed_at is not None
            and row.claimed_at < now - lease
        )
        if not due or row.id is None:
            break
        line.append(row)
    kept: list[Message] = []
    for row in line:  # in order; a row another sender took first ends the line
        assert row.id is not None
        if not await claim(session=session, message_ids=[row.id], now=now, lease=lease):
            break
        kept.append(row)
    return kept


async def claim(
    *, session: AsyncSession, message_ids: Sequence[int], now: datetime, lease: timedelta
) -> list[int]:
    """Take outbound messages for sending; return the ids this caller got, in the given order.

    A message is taken once: another sender asking at the same time gets nothing, unless the
    holder's lease ran out (it died mid-send), when the message is taken over. Rows are
    locked in id order, so two callers with the same ids in another order do not deadlock.
    """
    taken: set[int] = set()
    for message_id in sorted(set(message_ids)):
        statement = (
            update(Message)
            .where(
                col(Message.id) == message_id,
                col(Message.direction) == "out",
                _claimable(now, lease),
            )
            .values(
                delivery_state="sending",
                claimed_at=now,
                retry_at=None,
                attempts=col(Message.attempts) + 1,
            )
        )
        result = await session.exec(statement)
        if result.rowcount == 1:
            taken.add(message_id)
    return [message_id for message_id in dict.fromkeys(message_ids) if message_id in taken]


async def renew(
    *, session: AsyncSession, message_ids: Sequence[int], held_since: datetime, now: datetime
) -> list[int]:
    """Extend this sender's lease on messages it still holds (claimed at `held_since`, not
    taken over since); return those ids."""
    kept: list[int] = []
    for message_id in message_ids:
        result = await session.exec(
            update(Message)
            .where(
                col(Message.id) == message_id,
                col(Message.delivery_state) == "sending",
                col(Message.claimed_at) == held_since,
            )
            .values(claimed_at=now)
        )
        if result.rowcount == 1:
            kept.append(message_id)
    return kept


async def mark_sent(
    *,
    session: AsyncSession,
    message_ids: Sequence[int],
    at: datetime,
    platform_message_id: str | None = None,
    via: str | None = None,
) -> None:
    """Record that outbound messages reached the platform (with the platform's id)."""
    for message in await _rows(session, message_ids):
        message.delivery_state = "sent"
        message.sent_at = at
        message.error = None
        message.retry_at = None
        if platform_message_id is not None:
            message.platform_message_id = platform_message_id
        if via is not None:
            message.payload = {**(message.payload or {}), "via": via}


async def mark_failed(*, session: AsyncSession, message_ids: Sequence[int], error: str) -> None:
    """Record that outbound messages will not be delivered, and why."""
    for message in await _rows(session, message_ids):
        message.delivery_state = "failed"
        message.error = error[:500]


async def defer(
    *, session: AsyncSession, message_ids: Sequence[int], until: datetime, error: str
) -> None:
    """Hand messages back to the queue, not to be tried before `until`."""
    for message in await _rows(session, message_ids):
        if message.delivery_state == "sending":
            message.delivery_state = "pending"
            message.retry_at = until
            message.error = error[:500]


async def due(
    *,
    session: AsyncSession,
    channels: Sequence[str],
    now: datetime,
    lease: timedelta,
    since: datetime,
    limit: int = 100,
) -> Sequence[Message]:
    """Outbound messages a sweeper should deliver now (oldest first): pending and due, or
    held by a sender that is gone, and not behind an earlier message to the same customer
    that must go first; only on these channels and created after `since`."""
    statement = (
        select(Message)
        .where(
            col(Message.direction) == "out",
            col(Message.channel).in_(list(channels)),
            col(Message.delivery_state).in_(("pending", "sending")),
            col(Message.created_at) >= since,
            _claimable(now, lease),
            ~_behind_unsent(now, lease),
        )
        .order_by(col(Message.id))
        .limit(limit)
    )
    return (await session.exec(statement)).all()


async def expire(
    *, session: AsyncSession, channels: Sequence[str], before: datetime, error: str
) -> int:
    """Give up on messages still waiting that were created before `before`; how many."""
    result = await session.exec(
        update(Message)
        .where(
            col(Message.direction) == "out",
            col(Message.channel).in_(list(channels)),
            col(Message.delivery_state).in_(("pending", "sending")),
            col(Message.created_at) < before,
        )
        .values(delivery_state="failed", error=error)
    )
    return int(result.rowcount or 0)


async def waiting(*, session: AsyncSession) -> list[tuple[str, int, datetime | None]]:
    """Per channel: how many outbound messages wait (pending or being sent) and when the
    oldest of them was created (one grouped query on the indexed delivery state)."""
    statement = (
        select(Message.channel, func.count(), func.min(Message.created_at))
        .where(
            col(Message.delivery_state).in_(("pending", "sending")),
            col(Message.direction) == "out",
        )
        .group_by(col(Message.channel))
    )
    rows = await session.exec(statement)
    return [(channel, int(count), oldest) for channel, count, oldest in rows]


async def recipients(*, session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, Customer]:
    """The customers these messages go to, by id."""
    statement = select(Customer).where(col(Customer.id).in_(list(customer_ids)))
    return {c.id: c for c in (await session.exec(statement)).all() if c.id is not None}


async def lock_recipient(*, session: AsyncSession, customer_id: int) -> Customer | None:
    """The customer, its row locked until the transaction ends (the same lock handling a
    message takes), read afresh."""
    statement = (
        select(Customer)
        .where(col(Customer.id) == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).first()


async def sends_since(
    *, session: AsyncSession, customer_id: int, since: datetime, excluding: Sequence[int]
) -> int:
    """Quota-counted platform calls (rows reserved with a `batch`) made, under way or reserved
    to this customer since `since`; a batch of joined messages counts once, failed sends
    do not count."""
    statement = select(Message.payload).where(
        col(Message.customer_id) == customer_id,
        col(Message.direction) == "out",
        col(Message.delivery_state).in_(("pending", "sending", "sent")),
        col(Message.created_at) >= since,
        col(Message.id).not_in(list(excluding)),
    )
    batches = {
        (payload or {}).get("batch")
        for payload in (await session.exec(statement)).all()
        if (payload or {}).get("batch") is not None
    }
    return len(batches)


async def reserve_batch(
    *, session: AsyncSession, message_ids: Sequence[int], batch: int, via: str
) -> None:
    """Mark messages as one quota-counted platform call."""
    for message in await _rows(session, message_ids):
        message.payload = {**(message.payload or {}), "via": via, "batch": batch}


async def _rows(session: AsyncSession, message_ids: Sequence[int]) -> Sequence[Message]:
    if not message_ids:
        return []
    statement = select(Message).where(col(Message.id).in_(list(message_ids)))
    return (await session.exec(statement)).all()
