"""Queries for the customer's side of a handoff: the conversation's open case, a customer
writing back to a case waiting on them, and cases nobody has picked up in time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation, Escalation, Message

OPEN_CASE = ("open", "assigned", "waiting")
"""Statuses of a case still being worked on (at most one per conversation)."""
UNANSWERED = ("open", "assigned")
"""Statuses in which a case may still have no agent reply."""


async def open_case(*, session: AsyncSession, conversation_id: int) -> Escalation | None:
    """The conversation's case still being worked on, if any."""
    statement = select(Escalation).where(
        col(Escalation.conversation_id) == conversation_id,
        col(Escalation.status).in_(OPEN_CASE),
    )
    return (await session.exec(statement)).first()


async def customer_wrote(*, session: AsyncSession, conversation_id: int) -> bool:
    """A case waiting on the customer goes back to its agent (`assigned`); True if one did."""
    result = await session.exec(
        update(Escalation)
        .where(
            col(Escalation.conversation_id) == conversation_id,
            col(Escalation.status) == "waiting",
        )
        .values(status="assigned")
    )
    return bool(result.rowcount)


async def unattended(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[Escalation]:
    """Cases whose customer is due to hear that nobody picked them up (oldest first): not
    told yet, not answered by status, the conversation still with the agents."""
    statement = (
        select(Escalation)
        .join(Conversation, col(Conversation.id) == col(Escalation.conversation_id))
        .where(
            col(Escalation.unattended_at) <= now,
            col(Escalation.unattended_told_at).is_(None),
            col(Escalation.status).in_(UNANSWERED),
            col(Conversation.status) == "handed_off",
        )
        .order_by(col(Escalation.unattended_at))
        .limit(limit)
    )
    return (await session.exec(statement)).all()


async def agent_replied(*, session: AsyncSession, conversation_id: int, since: datetime) -> bool:
    """Whether an agent wrote to the customer in this conversation since `since` (a reply
    the platform refused does not count: the customer got nothing)."""
    statement = (
        select(Message.id)
        .where(
            col(Message.conversation_id) == conversation_id,
            col(Message.direction) == "out",
            col(Message.author) == "agent",
            col(Message.delivery_state) != "failed",
            col(Message.created_at) >= since,
        )
        .limit(1)
    )
    return (await session.exec(statement)).first() is not None


async def mark_told(*, session: AsyncSession, escalation_id: int, now: datetime) -> bool:
    """Record that the customer is being told (once: False when someone else did)."""
    result = await session.exec(
        update(Escalation)
        .where(
            col(Escalation.id) == escalation_id,
            col(Escalation.unattended_told_at).is_(None),
        )
        .values(unattended_told_at=now)
    )
    return bool(result.rowcount)
