"""Turning engine outcomes into rows: the conversation's state, answers, and escalations with
the agents' deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.events import AnswerRecorded, EscalationRequested, MetricRecorded
from flows.state import ConversationState, Outcome
from storage.models import Answer, Conversation, Escalation

SLA = {
    "urgent": timedelta(minutes=15),
    "high": timedelta(hours=1),
    "normal": timedelta(hours=4),
    "low": timedelta(hours=24),
}
"""How soon an agent must answer an escalation of each priority."""


def record_outcome(
    *,
    session: AsyncSession,
    customer_id: int,
    conversation: Conversation,
    outcome: Outcome,
    at: datetime,
) -> None:
    """Add an Answer row per recorded answer (with its metric) and an Escalation per request."""
    assert conversation.id is not None
    metrics = {e.step_id: e for e in outcome.events if isinstance(e, MetricRecorded)}
    for event in outcome.events:
        if isinstance(event, AnswerRecorded):
            metric = metrics.get(event.step_id)
            text = None if metric or event.value is None else str(event.value)
            session.add(
                Answer(
                    conversation_id=conversation.id,
                    flow_id=conversation.flow_id,
                    step_id=event.step_id,
                    variable=event.variable,
                    metric=metric.metric if metric else None,
                    score=metric.value if metric else None,
                    scale_low=metric.low if metric else None,
                    scale_high=metric.high if metric else None,
                    text=text,
                    channel=conversation.channel,
                    language=outcome.state.language,
                    touchpoint=conversation.touchpoint,
                    journey_stage=conversation.journey_stage,
                    created_at=at,
                )
            )
            if conversation.answered_at is None:
                conversation.answered_at = at
        elif isinstance(event, EscalationRequested):
            session.add(
                Escalation(
                    conversation_id=conversation.id,
                    customer_id=customer_id,
                    reason=event.reason,
                    priority=event.priority,
                    due_at=at + SLA.get(event.priority, SLA["normal"]),
                    created_at=at,
                )
            )


def save_state(
    conversation: Conversation,
    state: ConversationState,
    at: datetime,
    *,
    timeout_seconds: float | None = None,
) -> None:
    """Copy the engine's new state onto the conversation row (status, language, end time,
    and while active the deadline of the flow's reply timeout)."""
    conversation.state = state.to_json()
    conversation.status = state.status
    conversation.language = state.language
    conversation.updated_at = at
    if state.status != "active":
        conversation.expires_at = None
    elif timeout_seconds is not None:
        conversation.expires_at = state.last_activity_at + timedelta(seconds=timeout_seconds)
    if state.status in ("completed", "abandoned") and conversation.ended_at is None:
        conversation.ended_at = at
