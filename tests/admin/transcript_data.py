"""Conversations written straight through the ORM (the flush events fill the search index
as the service's writes do), with the texts, scores and escalations a test needs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from storage.database import Sessions, transaction
from storage.models import Answer, Conversation, Customer, Escalation, Event, Message

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_CUSTOMERS = itertools.count(1)
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


@dataclass
class Interview:
    """What one stored conversation holds."""

    said: list[str] = field(default_factory=list)
    """Inbound customer messages (the bot's question is stored before each)."""
    metric: str | None = "nps"
    score: int | None = None
    comment: str | None = None
    """An open answer (also stored as a message)."""
    flow: str = "nps"
    channel: str = "web"
    language: str = "zh"
    status: str = "completed"
    escalated: bool = False
    started_at: datetime | None = None


async def store(sessions: Sessions, interview: Interview, *, number: int = 0) -> int:
    """Write one conversation with its messages, answers, events and escalation; its id."""
    at = interview.started_at or T0 + timedelta(minutes=number)
    async with transaction(sessions) as session:
        customer = Customer(channel=interview.channel, external_id=f"visitor-{next(_CUSTOMERS)}")
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        conversation = Conversation(
            customer_id=customer.id,
            channel=interview.channel,
            flow_id=interview.flow,
            flow_version="1",
            touchpoint="checkout",
            journey_stage="purchase",
            language=interview.language,
            status=interview.status,
            started_at=at,
            updated_at=at,
        )
        session.add(conversation)
        await session.flush()
        ref = conversation.id
        assert ref is not None

        def message(direction: str, text: str, author: str) -> None:
            session.add(
                Message(
                    customer_id=customer.id or 0,
                    conversation_id=ref,
                    channel=interview.channel,
                    direction=direction,
                    author=author,
                    text=text,
                    delivery_state="received" if direction == "in" else "sent",
                    created_at=at,
                )
            )

        message("out", "您向朋友推荐我们的可能性有多大？", "bot")
        for said in interview.said:
            message("in", said, "customer")
        if interview.metric and interview.score is not None:
            low, high = SCALES[interview.metric]
            message("in", str(interview.score), "customer")
            session.add(
                Answer(
                    conversation_id=ref,
                    flow_id=interview.flow,
                    step_id="ask_score",
                    variable="score",
                    metric=interview.metric,
                    score=interview.score,
                    scale_low=low,
                    scale_high=high,
                    channel=interview.channel,
                    language=interview.language,
                    touchpoint="checkout",
                    created_at=at,
                )
            )
        if interview.comment is not None:
            message("out", "原因是什么？", "bot")
            message("in", interview.comment, "customer")
            session.add(
                Answer(
                    conversation_id=ref,
                    flow_id=interview.flow,
                    step_id="why",
                    variable="reason",
                    text=interview.comment,
                    channel=interview.channel,
                    language=interview.language,
                    touchpoint="checkout",
                    created_at=at,
                )
            )
        session.add(Event(conversation_id=ref, name="interview-started", data={}, created_at=at))
        if interview.escalated:
            session.add(
                Escalation(
                    conversation_id=ref,
                    customer_id=customer.id,
                    reason="low-score",
                    priority="high",
                    due_at=at + timedelta(hours=1),
                    created_at=at,
                )
            )
        return ref
