"""Query functions: the only place that builds SQL. Keyword-only, one session passed in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Answer,
    Conversation,
    Customer,
    Escalation,
    Event,
    FlowVersion,
    Message,
    utcnow,
)

OPEN_STATUSES = ("active", "handed_off")


async def get_or_create_customer(
    *,
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str | None = None,
    language: str | None = None,
    lock: bool = False,
) -> Customer:
    """The customer with this channel identity, created on first contact; with `lock`, an
    existing row is locked until the transaction ends (PostgreSQL; SQLite writes are serial
    anyway) and read afresh once the lock is held (one statement either way)."""
    statement = select(Customer).where(
        Customer.channel == channel, Customer.external_id == external_id
    )
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    customer = (await session.exec(statement)).first()
    if customer is None:
        customer = Customer(
            channel=channel, external_id=external_id, display_name=display_name, language=language
        )
        session.add(customer)
        await session.flush()
    else:
        if display_name and customer.display_name != display_name:
            customer.display_name = display_name
        if language and customer.language != language:
            customer.language = language
    return customer


async def find_customer(
    *, session: AsyncSession, channel: str, external_id: str
) -> Customer | None:
    """The customer with this channel identity, if known."""
    statement = select(Customer).where(
        Customer.channel == channel, Customer.external_id == external_id
    )
    return (await session.exec(statement)).first()


async def find_inbound(
    *, session: AsyncSession, channel: str, platform_message_id: str
) -> Message | None:
    """An inbound message already received under this platform id (a redelivery)."""
    statement = select(Message).where(
        Message.channel == channel,
        Message.direction == "in",
        Message.platform_message_id == platform_message_id,
    )
    return (await session.exec(statement)).first()


async def replies_to(*, session: AsyncSession, message_id: int) -> Sequence[Message]:
    """The outbound messages produced in answer to one inbound message, in order."""
    statement = select(Message).where(Message.reply_to_id == message_id).order_by(col(Message.id))
    return (await session.exec(statement)).all()


async def recent_outbound(
    *, session: AsyncSession, conversation_id: int, limit: int = 5
) -> Sequence[Message]:
    """The last messages sent in a conversation, newest first (the questions just asked)."""
    statement = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(col(Message.id).desc())
        .limit(limit)
    )
    return (await session.exec(statement)).all()


_OPEN_CONVERSATION = (
    select(Conversation)
    .where(
        Conversation.customer_id == bindparam("customer_id"),
        col(Conversation.status).in_(OPEN_STATUSES),
    )
    .order_by(col(Conversation.id).desc())
)
"""Built once (handling every message runs it): no construction or cache key per call."""


async def open_conversation(*, session: AsyncSession, customer_id: int) -> Conversation | None:
    """The customer's active or handed-off conversation, if any."""
    result = await session.exec(_OPEN_CONVERSATION, params={"customer_id": customer_id})
    return result.first()


async def save_flow_version(
    *, session: AsyncSession, flow_id: str, version: str, source: str
) -> bool:
    """Keep the text of a flow version (once) so pinned conversations can reload it; True
    when it was stored already (committed by an earlier transaction)."""
    if await session.get(FlowVersion, (flow_id, version)) is None:
        # another process may be storing the same version right now: wait for it and keep
        # theirs, rather than fail this customer's transaction on the primary key
        connection = await session.connection()
        table = FlowVersion.__table__  # type: ignore[attr-defined]
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        values = {"flow_id": flow_id, "version": version, "source": source, "created_at": utcnow()}
        await connection.execute(dialect.insert(table).values(values).on_conflict_do_nothing())
        return False
    return True


_INSERT_EVENTS = insert(Event.__table__)  # type: ignore[attr-defined]


async def insert_events(
    *,
    session: AsyncSession,
    events: Sequence[tuple[int | None, str, dict[str, Any]]],
    at: datetime,
) -> None:
    """Append events (conversation id, name, data) in order, in one statement."""
    if events:
        rows = [
            {"conversation_id": ref, "name": name, "data": data, "created_at": at}
            for ref, name, data in events
        ]
        # Core, on the session's connection: no ORM bulk-insert machinery, no autoflush
        await (await session.connection()).execute(_INSERT_EVENTS, rows)


async def get_flow_source(*, session: AsyncSession, flow_id: str, version: str) -> str | None:
    """The stored text of a flow version."""
    row = await session.get(FlowVersion, (flow_id, version))
    return row.source if row else None


def add_message(
    *,
    session: AsyncSession,
    customer_id: int,
    conversation_id: int | None,
    channel: str,
    direction: str,
    text: str,
    author: str,
    payload: dict[str, Any] | None = None,
    platform_message_id: str | None = None,
    reply_to_id: int | None = None,
    delivery_state: str = "received",
) -> Message:
    """Append one transcript row."""
    message = Message(
        customer_id=customer_id,
        conversation_id=conversation_id,
        channel=channel,
        direction=direction,
        text=text,
        author=author,
        payload=payload or {},
        platform_message_id=platform_message_id,
        reply_to_id=reply_to_id,
        delivery_state=delivery_state,
    )
    session.add(message)
    return message


def append_events(
    *,
    session: AsyncSession,
    conversation_id: int | None,
    events: Sequence[tuple[str, dict[str, Any]]],
    at: datetime,
) -> None:
    """Append events (name, data) in order."""
    for name, data in events:
        session.add(Event(conversation_id=conversation_id, name=name, data=data, created_at=at))


async def transcript(*, session: AsyncSession, conversation_id: int) -> Sequence[Message]:
    """All messages of a conversation in order."""
    statement = (
        select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.id))
    )
    return (await session.exec(statement)).all()


async def customer_messages(
    *, session: AsyncSession, customer_id: int, after_id: int = 0, limit: int = 200
) -> Sequence[Message]:
    """A customer's messages after a given id, oldest first (web chat polling)."""
    statement = (
        select(Message)
        .where(Message.customer_id == customer_id, col(Message.id) > after_id)
        .order_by(col(Message.id))
        .limit(limit)
    )
    return (await session.exec(statement)).all()


async def escalations_for(*, session: AsyncSession, conversation_id: int) -> Sequence[Escalation]:
    """The escalations raised in a conversation."""
    statement = select(Escalation).where(Escalation.conversation_id == conversation_id)
    return (await session.exec(statement)).all()


async def overdue_conversations(
    *, session: AsyncSession, now: datetime, limit: int = 500
) -> Sequence[Conversation]:
    """Active conversations whose reply deadline has passed, the most overdue first (an
    indexed look: nothing is read while no interview is overdue)."""
    statement = (
        select(Conversation)
        .where(Conversation.status == "active", col(Conversation.expires_at) <= now)
        .order_by(col(Conversation.expires_at))
        .limit(limit)
    )
    return (await session.exec(statement)).all()


async def count_rows(*, session: AsyncSession, model: type[Any]) -> int:
    """How many rows a table has."""
    return int((await session.exec(select(func.count()).select_from(model))).one())


async def nps_summary(*, session: AsyncSession, flow_id: str | None = None) -> dict[str, int]:
    """Promoter, passive and detractor counts of NPS answers, computed in SQL."""
    score = col(Answer.score)
    statement = select(
        func.count(),
        func.coalesce(func.sum(case((score >= 9, 1), else_=0)), 0),
        func.coalesce(func.sum(case((score <= 6, 1), else_=0)), 0),
    ).where(Answer.metric == "nps")
    if flow_id is not None:
        statement = statement.where(Answer.flow_id == flow_id)
    total, promoters, detractors = (await session.exec(statement)).one()
    return {
        "total": int(total),
        "promoters": int(promoters),
        "detractors": int(detractors),
        "passives": int(total) - int(promoters) - int(detractors),
    }


async def lock_customer(
    *, session: AsyncSession, channel: str, external_id: str
) -> Customer | None:
    """The customer, its row locked until the transaction ends (PostgreSQL; SQLite writes are
    serial anyway), and read afresh once the lock is held."""
    statement = (
        select(Customer)
        .where(Customer.channel == channel, Customer.external_id == external_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).first()


async def lock_conversation_owner(
    *, session: AsyncSession, conversation_id: int
) -> Conversation | None:
    """A conversation read afresh after locking its customer's row: the same lock, in the
    same order, that handling a message takes, so a sweep and a message never interleave."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    await session.exec(
        select(Customer).where(Customer.id == conversation.customer_id).with_for_update()
    )
    await session.refresh(conversation)
    return conversation


async def latest_conversation(
    *, session: AsyncSession, customer_id: int, flow_id: str
) -> Conversation | None:
    """The customer's most recent conversation on one flow, whatever its status (the web
    chat shows a finished interview as finished instead of starting a new one)."""
    statement = (
        select(Conversation)
        .where(Conversation.customer_id == customer_id, Conversation.flow_id == flow_id)
        .order_by(col(Conversation.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def release_inbound(*, session: AsyncSession, channel: str, platform_message_id: str) -> None:
    """Free a platform message id (an idempotency key whose request came to nothing) so the
    same id may be used again; the row stays in the transcript under a marked id."""
    row = await find_inbound(
        session=session, channel=channel, platform_message_id=platform_message_id
    )
    if row is not None:
        row.platform_message_id = f"{platform_message_id}~released~{row.id}"[:128]


_COMPLETED_SINCE = (
    select(Conversation)
    .where(
        Conversation.customer_id == bindparam("customer_id"),
        Conversation.flow_id == bindparam("flow_id"),
        Conversation.status == "completed",
        col(Conversation.ended_at) >= bindparam("since"),
    )
    .order_by(col(Conversation.ended_at).desc())
    .limit(1)
)


async def completed_since(
    *, session: AsyncSession, customer_id: int, flow_id: str, since: datetime
) -> Conversation | None:
    """The customer's latest interview on this flow completed after `since`, if any (the
    flow's quiet period)."""
    parameters = {"customer_id": customer_id, "flow_id": flow_id, "since": since}
    return (await session.exec(_COMPLETED_SINCE, params=parameters)).first()
