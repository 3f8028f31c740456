"""The transcript side of handling a message: storing what came in and what goes out,
and finding the answer already given to a redelivered message."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel import Incoming, Reply, pseudonym
from cxbot.envelopes import outbound_from_row, outbound_payload
from flows.state import Outbound
from storage import outbox, queries, turn_rows
from storage.models import Conversation

log = logging.getLogger(__name__)

INLINE = ("inline", "passive")
"""How a message delivered within the request itself is marked (`payload["via"]`)."""


async def duplicate_reply(
    *,
    session: AsyncSession,
    customer_id: int,
    incoming: Incoming,
    now: datetime,
    lease: timedelta,
) -> Reply | None:
    """The stored answer to a message received before (a platform's retry), if any.

    Messages never sent whose sender is gone (pending, or a claim whose lease ran out) are
    claimed for this caller and listed as `undelivered`; a platform id another customer
    used gets nothing of theirs; an idempotency key reused for another request is refused.
    """
    if incoming.platform_message_id is None:
        return None
    seen = await turn_rows.seen_inbound(
        session=session,
        channel=incoming.channel,
        platform_message_id=incoming.platform_message_id,
    )
    if seen is None:
        return None
    if seen.customer_id != customer_id:
        # the same platform id from someone else: never hand them another customer's reply
        log.warning(
            "%s message id %s reused by another customer; ignored",
            incoming.channel,
            pseudonym(incoming.platform_message_id),
        )
        return Reply((), duplicate=True, customer_id=customer_id)
    if incoming.request_digest is not None and (
        seen.payload.get("request") != incoming.request_digest
    ):
        return Reply((), duplicate=True, customer_id=customer_id, refused="conflict")
    rows = await queries.replies_to(session=session, message_id=seen.id)
    undelivered: list[int] = []
    if incoming.replies == "send":
        undelivered = await outbox.claim(
            session=session,
            message_ids=[row.id for row in rows if row.id is not None],
            now=now,
            lease=lease,
        )
    passive = tuple(
        row.id
        for row in rows
        if row.id is not None
        and row.delivery_state == "sent"
        and (row.payload or {}).get("via") in INLINE
    )
    return Reply(
        tuple((row.id or 0, outbound_from_row(row)) for row in rows),
        duplicate=True,
        conversation_id=seen.conversation_id,
        customer_id=customer_id,
        undelivered=tuple(undelivered),
        passive=passive,
        held_since=now if undelivered else None,
    )


async def inbound_text(
    *, session: AsyncSession, conversation: Conversation | None, incoming: Incoming
) -> str:
    """What the customer's message shows in the transcript (a tapped button shows its
    label; an API start is a `system` row, not words the customer said)."""
    return (
        ("(started through the API)" if incoming.kind == "trigger" else "")
        or incoming.text
        or (f"/{incoming.command}" if incoming.command else "")
        or await _button_label(session, conversation, incoming.button)
    )


async def store_inbound(
    *,
    session: AsyncSession,
    customer_id: int,
    conversation_id: int | None,
    incoming: Incoming,
    text: str,
    at: datetime,
) -> int:
    """The customer's message as a transcript row, in the conversation it ended up in; its
    id."""
    details = (
        ("button", incoming.button),
        ("command", incoming.command),
        ("request", incoming.request_digest),
    )
    row = {
        "customer_id": customer_id,
        "conversation_id": conversation_id,
        "channel": incoming.channel,
        "direction": "in",
        "author": "system" if incoming.kind == "trigger" else "customer",
        "text": text,
        "payload": {key: value for key, value in details if value},
        "platform_message_id": incoming.platform_message_id,
    }
    (inbound_id,) = await turn_rows.add_messages(session=session, rows=[row], at=at)
    return inbound_id


async def _button_label(
    session: AsyncSession, conversation: Conversation | None, payload: str | None
) -> str:
    """What the tapped button said (the transcript shows "9", not an empty message)."""
    if payload is None or conversation is None or conversation.id is None:
        return ""
    for sent in await turn_rows.button_payloads(session=session, conversation_id=conversation.id):
        for button in sent.get("buttons", []):
            if button.get("payload") == payload:
                return str(button.get("label", ""))
    return ""


async def store_replies(
    *,
    session: AsyncSession,
    customer_id: int,
    conversation_id: int | None,
    incoming: Incoming,
    reply_to_id: int | None,
    messages: Sequence[Outbound],
    now: datetime,
) -> tuple[tuple[tuple[int, Outbound], ...], datetime | None]:
    """The bot's messages as transcript rows, which double as the outbox: claimed for this
    process (`replies="send"`) — or queued behind the customer's earlier messages still
    unsent, which the process sending those delivers next — or already delivered in the
    caller's response (`inline`); with the time this caller's claim runs from, if it holds
    them."""
    inline = incoming.replies == "inline"
    queued = bool(messages) and not inline
    queued = queued and await outbox.unsent_to(session=session, customer_id=customer_id)
    rows = [
        {
            "customer_id": customer_id,
            "conversation_id": conversation_id,
            "channel": incoming.channel,
            "direction": "out",
            "author": "bot",
            "text": message.text,
            "payload": {**outbound_payload(message), **({"via": "inline"} if inline else {})},
            "reply_to_id": reply_to_id,
            "delivery_state": "sent" if inline else "pending" if queued else "sending",
            "sent_at": now if inline else None,
            "claimed_at": None if inline or queued else now,
            "attempts": 0 if inline or queued else 1,
        }
        for message in messages
    ]
    ids = await turn_rows.add_messages(session=session, rows=rows, at=now)
    held = now if rows and not inline and not queued else None
    sent = (Outbound(m.text, m.buttons, m.hint, m.step_id) for m in messages)
    return tuple(zip(ids, sent, strict=True)), held
