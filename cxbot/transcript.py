"""The transcript side of handling a message: storing what came in and what goes out,
and finding the answer already given to a redelivered message."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from cxbot.envelopes import Incoming, Reply, outbound_from_row, outbound_payload
from flows.state import Outbound
from storage import queries
from storage.models import Conversation, Message

log = logging.getLogger(__name__)


async def duplicate_reply(
    *, session: AsyncSession, customer_id: int, incoming: Incoming, stale_before: datetime
) -> Reply | None:
    """The stored answer to a message received before (a platform's retry), if any.

    Messages claimed for sending before `stale_before` count as undelivered (their sender
    crashed); a platform id another customer used gets nothing of theirs.
    """
    if incoming.platform_message_id is None:
        return None
    seen = await queries.find_inbound(
        session=session,
        channel=incoming.channel,
        platform_message_id=incoming.platform_message_id,
    )
    if seen is None or seen.id is None:
        return None
    if seen.customer_id != customer_id:
        # the same platform id from someone else: never hand them another customer's reply
        log.warning(
            "%s message id %s reused by another customer; ignored",
            incoming.channel,
            incoming.platform_message_id,
        )
        return Reply((), duplicate=True, customer_id=customer_id)
    rows = await queries.replies_to(session=session, message_id=seen.id)
    return Reply(
        tuple((row.id or 0, outbound_from_row(row)) for row in rows),
        duplicate=True,
        conversation_id=seen.conversation_id,
        customer_id=customer_id,
        undelivered=tuple(row.id for row in rows if row.id and _undelivered(row, stale_before)),
    )


def _undelivered(row: Message, stale_before: datetime) -> bool:
    if row.delivery_state == "pending":
        return True
    claimed = row.claimed_at or stale_before
    return row.delivery_state == "sending" and claimed < stale_before


async def store_inbound(
    *,
    session: AsyncSession,
    customer_id: int,
    conversation: Conversation | None,
    incoming: Incoming,
) -> Message:
    """The customer's message as a transcript row (a tapped button shows its label; an API
    start is a `system` row, not words the customer said)."""
    text = (
        ("(started through the API)" if incoming.kind == "trigger" else "")
        or incoming.text
        or (f"/{incoming.command}" if incoming.command else "")
        or await _button_label(session, conversation, incoming.button)
    )
    details = (("button", incoming.button), ("command", incoming.command))
    return queries.add_message(
        session=session,
        customer_id=customer_id,
        conversation_id=conversation.id if conversation else None,
        channel=incoming.channel,
        direction="in",
        author="system" if incoming.kind == "trigger" else "customer",
        text=text,
        payload={key: value for key, value in details if value},
        platform_message_id=incoming.platform_message_id,
    )


async def _button_label(
    session: AsyncSession, conversation: Conversation | None, payload: str | None
) -> str:
    """What the tapped button said (the transcript shows "9", not an empty message)."""
    if payload is None or conversation is None or conversation.id is None:
        return ""
    for row in await queries.recent_outbound(session=session, conversation_id=conversation.id):
        for button in (row.payload or {}).get("buttons", []):
            if button.get("payload") == payload:
                return str(button.get("label", ""))
    return ""


async def store_replies(
    *,
    session: AsyncSession,
    customer_id: int,
    conversation_id: int | None,
    channel: str,
    reply_to: Message,
    messages: Sequence[Outbound],
) -> tuple[tuple[int, Outbound], ...]:
    """The bot's messages as pending transcript rows (they double as the outbox)."""
    rows = [
        queries.add_message(
            session=session,
            customer_id=customer_id,
            conversation_id=conversation_id,
            channel=channel,
            direction="out",
            author="bot",
            text=message.text,
            payload=outbound_payload(message),
            reply_to_id=reply_to.id,
            delivery_state="pending",
        )
        for message in messages
    ]
    await session.flush()
    return tuple((row.id or 0, outbound_from_row(row)) for row in rows)
