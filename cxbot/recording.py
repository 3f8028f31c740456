"""Turning engine outcomes into rows: the conversation's state and answers; the default
response deadlines of cases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.events import AnswerRecorded, MetricRecorded
from flows.state import ConversationState, Outcome
from storage import turn_rows
from storage.models import Conversation

SLA = {
    "urgent": timedelta(minutes=15),
    "high": timedelta(hours=1),
    "normal": timedelta(hours=4),
    "low": timedelta(hours=24),
}
"""How soon an agent must answer a case of each priority, in service hours (the defaults of
the `sla_*` settings; see cxbot/handoff.py)."""


async def record_outcome(
    *,
    session: AsyncSession,
    conversation: Conversation,
    outcome: Outcome,
    at: datetime,
) -> None:
    """Insert an Answer row per recorded answer (with its metric); cases are opened by
    `cxbot.handoff.open_cases`."""
    assert conversation.id is not None
    metrics = {e.step_id: e for e in outcome.events if isinstance(e, MetricRecorded)}
    rows = []
    for event in outcome.events:
        if isinstance(event, AnswerRecorded):
            metric = metrics.get(event.step_id)
            text = None if metric or event.value is None else str(event.value)
            rows.append(
                {
                    "conversation_id": conversation.id,
                    "flow_id": conversation.flow_id,
                    "step_id": event.step_id,
                    "variable": event.variable,
                    "metric": metric.metric if metric else None,
                    "score": metric.value if metric else None,
                    "scale_low": metric.low if metric else None,
                    "scale_high": metric.high if metric else None,
                    "text": text,
                    "channel": conversation.channel,
                    "language": outcome.state.language,
                    "touchpoint": conversation.touchpoint,
                    "journey_stage": conversation.journey_stage,
                    "created_at": at,
                }
            )
            if conversation.answered_at is None:
                conversation.answered_at = at
    await turn_rows.add_answers(session=session, rows=rows)


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
