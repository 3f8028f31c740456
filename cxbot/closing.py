"""Closing interviews from outside a customer's message: one whose first question could not
be delivered, and those whose reply timeout passed (the idle sweep)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from cxbot.recording import save_state
from flows import engine
from flows.events import InterviewAbandoned
from flows.state import ConversationState
from storage import queries

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


async def expire_idle(service: ConversationService) -> int:
    """Close interviews whose reply timeout passed; return how many."""
    now = service.clock()
    async with service.sessions() as session:
        candidates = await queries.idle_conversations(
            session=session, before=now - timedelta(minutes=1)
        )
    closed = 0
    for candidate in candidates:
        assert candidate.id is not None
        async with service.writer.transaction() as session:
            # each one on its own, under its customer's lock: a message arriving now
            # either lands first (and the interview is no longer idle) or waits
            conversation = await queries.lock_conversation_owner(
                session=session, conversation_id=candidate.id
            )
            if conversation is None or conversation.status != "active":
                continue
            flow = await service.pinned_flow(session, conversation)
            state = ConversationState.from_json(conversation.state)
            outcome = engine.expire(flow.flow, state, now)
            if outcome.events:
                save_state(conversation, outcome.state, now)
                queries.append_events(
                    session=session,
                    conversation_id=conversation.id,
                    events=[(e.name, e.data()) for e in outcome.events],
                    at=now,
                )
                closed += 1
    return closed
