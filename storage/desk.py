"""Queries of the agents' desk: the case queue, claiming, status changes, resolving, notes and
the closing question. Every state change is a conditional UPDATE, so two agents (or two app
processes) acting on one case at once cannot both succeed.

    open ──claim──► assigned ◄──► waiting (on the customer)
      │                │                 │
      └────────────────┴──► resolved (outcome + note) | closed (without contact)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, Conversation, Customer, Escalation, EscalationNote, Message

Status = Literal["open", "assigned", "waiting", "resolved", "closed"]
STATUSES: tuple[Status, ...] = ("open", "assigned", "waiting", "resolved", "closed")
OPEN: tuple[Status, ...] = ("open", "assigned", "waiting")
"""A case in one of these still needs an agent."""
DONE: tuple[Status, ...] = ("resolved", "closed")
PRIORITIES = ("urgent", "high", "normal", "low")
"""From the most to the least pressing (the queue's order)."""
OUTCOMES = ("fixed", "refund", "compensation", "explained", "no_fault", "other")
"""Outcome codes an agent resolves a case with."""
ClosingAnswer = Literal["yes", "no"]


@dataclass(frozen=True)
class CaseRow:
    """A case with its conversation and customer."""

    escalation: Escalation
    conversation: Conversation
    customer: Customer


def _rank() -> Any:
    return case(
        *((col(Escalation.priority) == p, i) for i, p in enumerate(PRIORITIES)),
        else_=len(PRIORITIES),
    )


async def cases(
    *,
    session: AsyncSession,
    statuses: Sequence[str] = OPEN,
    priority: str | None = None,
    channel: str | None = None,
    overdue_at: datetime | None = None,
    limit: int = 200,
) -> list[CaseRow]:
    """Cases in `statuses`, most pressing first (priority, then deadline); with `overdue_at`
    only those still open whose deadline passed before it."""
    statement = (
        select(Escalation, Conversation, Customer)
        .join(Conversation, col(Conversation.id) == col(Escalation.conversation_id))
        .join(Customer, col(Customer.id) == col(Escalation.customer_id))
        .where(col(Escalation.status).in_(list(statuses)))
        .order_by(_rank(), col(Escalation.due_at), col(Escalation.id))
        .limit(limit)
    )
    if priority is not None:
        statement = statement.where(col(Escalation.priority) == priority)
    if channel is not None:
        statement = statement.where(col(Conversation.channel) == channel)
    if overdue_at is not None:
        statement = statement.where(
            col(Escalation.due_at) < overdue_at,
            col(Escalation.first_reply_at).is_(None),
            col(Escalation.status).in_(list(OPEN)),
        )
    rows = (await session.exec(statement)).all()
    return [CaseRow(e, c, p) for e, c, p in rows]


async def one_case(*, session: AsyncSession, escalation_id: int) -> CaseRow | None:
    """One case with its conversation and customer."""
    statement = (
        select(Escalation, Conversation, Customer)
        .join(Conversation, col(Conversation.id) == col(Escalation.conversation_id))
        .join(Customer, col(Customer.id) == col(Escalation.customer_id))
        .where(col(Escalation.id) == escalation_id)
    )
    found = (await session.exec(statement)).first()
    return None if found is None else CaseRow(*found)


async def answers_of(
    *, session: AsyncSession, conversation_ids: Sequence[int]
) -> dict[int, list[Answer]]:
    """The recorded answers of these conversations, in order, by conversation."""
    if not conversation_ids:
        return {}
    statement = (
        select(Answer)
        .where(col(Answer.conversation_id).in_(list(conversation_ids)))
        .order_by(col(Answer.id))
    )
    found: dict[int, list[Answer]] = {}
    for row in (await session.exec(statement)).all():
        found.setdefault(row.conversation_id, []).append(row)
    return found


async def claim(
    *, session: AsyncSession, escalation_id: int, user_id: int | None, name: str, now: datetime
) -> bool:
    """Assign an open case to an agent; False when it is not open any more (another agent
    claimed it first, or it was closed)."""
    result = await session.exec(
        update(Escalation)
        .where(col(Escalation.id) == escalation_id, col(Escalation.status) == "open")
        .values(
            status="assigned",
            assigned_user_id=user_id,
            assigned_name=name,
            claimed_at=now,
            updated_at=now,
        )
    )
    return int(result.rowcount or 0) == 1


async def change_status(
    *,
    session: AsyncSession,
    escalation_id: int,
    from_statuses: Sequence[str],
    to: Status,
    now: datetime,
    **values: Any,
) -> bool:
    """Move a case to `to` if it is in one of `from_statuses`; False if it was not."""
    result = await session.exec(
        update(Escalation)
        .where(
            col(Escalation.id) == escalation_id,
            col(Escalation.status).in_(list(from_statuses)),
        )
        .values(status=to, updated_at=now, **values)
    )
    return int(result.rowcount or 0) == 1


async def mark_first_reply(*, session: AsyncSession, escalation_id: int, at: datetime) -> None:
    """Record the first agent reply's time (later replies leave it)."""
    await session.exec(
        update(Escalation)
        .where(col(Escalation.id) == escalation_id, col(Escalation.first_reply_at).is_(None))
        .values(first_reply_at=at)
    )


async def add_note(
    *, session: AsyncSession, escalation_id: int, author: str, text: str, at: datetime
) -> EscalationNote:
    """Append an internal note to a case."""
    note = EscalationNote(escalation_id=escalation_id, author=author, text=text, created_at=at)
    session.add(note)
    await session.flush()
    return note


async def notes_of(*, session: AsyncSession, escalation_id: int) -> Sequence[EscalationNote]:
    """A case's notes, oldest first."""
    statement = (
        select(EscalationNote)
        .where(col(EscalationNote.escalation_id) == escalation_id)
        .order_by(col(EscalationNote.id))
    )
    return (await session.exec(statement)).all()


async def transcript(
    *, session: AsyncSession, conversation_id: int, after_id: int = 0, limit: int = 500
) -> Sequence[Message]:
    """A conversation's messages after `after_id`, oldest first (the case page polls it)."""
    statement = (
        select(Message)
        .where(col(Message.conversation_id) == conversation_id, col(Message.id) > after_id)
        .order_by(col(Message.id))
        .limit(limit)
    )
    return (await session.exec(statement)).all()


async def changed_since(
    *, session: AsyncSession, escalation_id: int, conversation_id: int
) -> tuple[int, int, datetime | None]:
    """What the case page's stream watches: the last message id, the message rows whose
    delivery is unfinished or failed (their count), and the case's last change."""
    last = (
        await session.exec(
            select(func.max(Message.id)).where(col(Message.conversation_id) == conversation_id)
        )
    ).one()
    unsettled = (
        await session.exec(
            select(func.count()).where(
                col(Message.conversation_id) == conversation_id,
                col(Message.delivery_state).in_(("pending", "sending")),
            )
        )
    ).one()
    updated = (
        await session.exec(select(Escalation.updated_at).where(col(Escalation.id) == escalation_id))
    ).first()
    return int(last or 0), int(unsettled or 0), updated


async def lock_customer(*, session: AsyncSession, customer_id: int) -> Customer | None:
    """The customer's row, locked as the conversation service locks it (one writer per
    customer at a time), read afresh."""
    statement = (
        select(Customer)
        .where(col(Customer.id) == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).first()


async def pending_closing(*, session: AsyncSession, conversation_id: int) -> Escalation | None:
    """The resolved case of this conversation whose closing question awaits an answer."""
    statement = (
        select(Escalation)
        .where(
            col(Escalation.conversation_id) == conversation_id,
            col(Escalation.status) == "resolved",
            col(Escalation.closing_asked_at).is_not(None),
            col(Escalation.closing_answer).is_(None),
        )
        .order_by(col(Escalation.id).desc())
    )
    return (await session.exec(statement)).first()


async def open_case_of(*, session: AsyncSession, conversation_id: int) -> Escalation | None:
    """The conversation's case that still needs an agent, if any."""
    statement = (
        select(Escalation)
        .where(
            col(Escalation.conversation_id) == conversation_id,
            col(Escalation.status).in_(list(OPEN)),
        )
        .order_by(col(Escalation.id).desc())
    )
    return (await session.exec(statement)).first()
