"""Closing interviews from outside a customer's message: one whose first question could not
be delivered, and those whose reply timeout passed (the idle sweep)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cxbot.recording import save_state
from flows import engine
from flows.events import InterviewAbandoned
from flows.state import ConversationState
from storage import queries
from storage.database import reading

if TYPE_CHECKING:
    from cxbot.conversations import ConversationService


async def abandon(
    service: ConversationService, conversation_id: int, reason: str, *, release: str | None = None
) -> bool:
    """Close a running interview early (its first question could not be delivered);
    True when it was running. `release`: the platform message id of the request that
    started it, freed so the same idempotency key may start it again."""
    now = service.clock()
    async with service.writer.transaction() as session:
        conversation = await queries.lock_conversation_owner(
            session=session, conversation_id=conversation_id
        )
        if release is not None:
            await queries.release_inbound(
                session=session,
                channel=conversation.channel if conversation else "",
                platform_message_id=release,
            )
        if conversation is None or conversation.status != "active":
            return False
        state = ConversationState.from_json(conversation.state)
        save_state(conversation, state.evolve(status="abandoned", step_id=None), now)
        event = InterviewAbandoned(reason)
        queries.append_events(
            session=session,
            conversation_id=conversation_id,
            events=[(event.name, event.data())],
            at=now,
        )
        return True


async def expire_idle(service: ConversationService, *, batch: int = 500) -> int:
    """Close interviews whose reply timeout passed, however many; return how many.

    Each running interview carries its deadline (`expires_at`, indexed), so the sweep reads
    only the overdue ones; one whose deadline was stale (an older row) gets its real one.
    """
    now = service.clock()
    closed = 0
    while True:
        async with reading(service.sessions) as session:  # never SQLite's write lock
            overdue = await queries.overdue_conversations(session=session, now=now, limit=batch)
            candidates = [row.id or 0 for row in overdue]
        for candidate in candidates:
            closed += await _expire_one(service, candidate, now)
        if len(candidates) < batch:
            return closed


async def _expire_one(service: ConversationService, conversation_id: int, now: datetime) -> int:
    """Close one overdue interview under its customer's lock; 1 when it was closed."""
    async with service.writer.transaction() as session:
        # under the customer's lock: a message arriving now either lands first (and the
        # interview is no longer overdue) or waits
        conversation = await queries.lock_conversation_owner(
            session=session, conversation_id=conversation_id
        )
        if conversation is None or conversation.status != "active":
            return 0
        flow = await service.pinned_flow(session, conversation)
        state = ConversationState.from_json(conversation.state)
        outcome = engine.expire(flow.flow, state, now)
        if not outcome.events:  # not overdue after all (an older row): its real deadline
            conversation.expires_at = state.last_activity_at + timedelta(
                seconds=flow.flow.timeout_seconds
            )
            return 0
        save_state(conversation, outcome.state, now)
        queries.append_events(
            session=session,
            conversation_id=conversation.id,
            events=[(e.name, e.data()) for e in outcome.events],
            at=now,
        )
        return 1
