"""One conversation as the admin reads it, and the answers export read in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.conversation_list import (
    ANSWER,
    CONVERSATION,
    TABLES,
    ConversationFilters,
    filter_conditions,
    rows_of,
    scalars_of,
    search_conditions,
)
from storage.models import Answer, Conversation, Customer, Escalation, Event, Message
from storage.terms import query_terms


@dataclass(frozen=True)
class Transcript:
    """A conversation with everything recorded about it, each list in order."""

    conversation: Conversation
    customer: Customer | None
    messages: tuple[Message, ...]
    answers: tuple[Answer, ...]
    events: tuple[Event, ...]
    escalations: tuple[Escalation, ...]


async def _all(session: AsyncSession, statement: Any) -> tuple[Any, ...]:
    return tuple(await scalars_of(session, statement))


async def load_transcript(*, session: AsyncSession, conversation_id: int) -> Transcript | None:
    """The conversation, its messages, answers, events and escalations (None: unknown id)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    lists = []
    for model, name in (
        (Message, "message"),
        (Answer, "answer"),
        (Event, "event"),
        (Escalation, "escalation"),
    ):
        table = TABLES[name]
        statement = select(model).where(table.c.conversation_id == conversation_id)
        lists.append(await _all(session, statement.order_by(table.c.id)))
    messages, answers, events, escalations = lists
    return Transcript(
        conversation,
        await session.get(Customer, conversation.customer_id),
        messages,
        answers,
        events,
        escalations,
    )


EXPORT_COLUMNS = (
    "answer_id",
    "conversation_id",
    "created_at",
    "flow_id",
    "flow_version",
    "step_id",
    "variable",
    "metric",
    "score",
    "scale_low",
    "scale_high",
    "text",
    "channel",
    "language",
    "touchpoint",
    "journey_stage",
    "conversation_status",
)
"""The CSV's columns, in order."""


async def answer_batch(
    *,
    session: AsyncSession,
    filters: ConversationFilters,
    after_id: int = 0,
    size: int = 2000,
) -> Sequence[tuple[Any, ...]]:
    """Up to `size` answers after `after_id` (in id order) of the conversations the filters
    select, as tuples in EXPORT_COLUMNS order. Empty when the query has only punctuation."""
    terms = query_terms(filters.text or "")
    if filters.text and filters.text.strip() and not terms:
        return ()
    a, c = ANSWER.c, CONVERSATION.c
    columns = [
        a.id,
        a.conversation_id,
        a.created_at,
        a.flow_id,
        c.flow_version,
        a.step_id,
        a.variable,
        a.metric,
        a.score,
        a.scale_low,
        a.scale_high,
        a.text,
        a.channel,
        a.language,
        a.touchpoint,
        c.journey_stage,
        c.status,
    ]
    statement = (
        select(*columns)
        .select_from(ANSWER.join(CONVERSATION, c.id == a.conversation_id))
        .where(a.id > after_id, *filter_conditions(filters), *search_conditions(terms))
        .order_by(a.id)
        .limit(size)
    )
    return [tuple(row) for row in await rows_of(session, statement)]
