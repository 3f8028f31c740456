"""A handoff nobody picks up: the customer is told so once, politely, and may start over
(`/start`, a start keyword, a new survey) while the case stays open, and overdue, for the
team. Run by each process with the idle sweep (`cxbot/app.py`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from cxbot import handoff_texts
from storage import handoffs, queries
from storage.database import reading
from storage.models import Escalation

if TYPE_CHECKING:
    from cxbot.conversations import ConversationService

log = logging.getLogger(__name__)


async def tell_unattended(service: ConversationService, *, batch: int = 100) -> int:
    """Tell each customer whose case nobody answered in time, once; how many were told.

    The notice is stored as a queued message in the same transaction that marks the case,
    under the customer's lock: two processes sweeping at once tell the customer once, and
    the delivery path's sweeper sends it (in order behind anything else to them).
    """
    now = service.clock()
    told = 0
    for _ in range(1000):  # every due case leaves the list once looked at: no endless loop
        async with reading(service.sessions) as session:  # never SQLite's write lock
            found = await handoffs.unattended(session=session, now=now, limit=batch)
            cases = [(case.id or 0, case.conversation_id) for case in found]
        for case_id, conversation_id in cases:
            async with service.writer.transaction() as session:
                told += await _tell_one(session, service, case_id, conversation_id, now)
        if len(cases) < batch:
            break
    return told


async def _tell_one(
    session: AsyncSession,
    service: ConversationService,
    case_id: int,
    conversation_id: int,
    now: datetime,
) -> int:
    conversation = await queries.lock_conversation_owner(
        session=session, conversation_id=conversation_id
    )
    if conversation is None or conversation.status != "handed_off":
        return 0  # the customer started over meanwhile
    case = await session.get(Escalation, case_id, populate_existing=True)
    if case is None or case.status not in handoffs.UNANSWERED or case.unattended_told_at:
        return 0
    if case.first_reply_at is not None or await handoffs.agent_replied(
        session=session, conversation_id=conversation_id, since=case.created_at
    ):
        case.unattended_at = None  # answered after all: nothing to admit, ever
        return 0
    if not await handoffs.mark_told(session=session, escalation_id=case_id, now=now):
        return 0
    loaded = await service.pinned_flow(session, conversation)
    others = sorted(service.registry.all(), key=lambda f: f.flow.id != "nps")  # nps first
    flows = [loaded.flow, *(f.flow for f in others)]
    notice = handoff_texts.unattended(flows, conversation.language, conversation.channel)
    row = queries.add_message(
        session=session,
        customer_id=conversation.customer_id,
        conversation_id=conversation_id,
        channel=conversation.channel,
        direction="out",
        author="bot",
        text=notice.text,
        delivery_state="pending",
    )
    row.created_at = now
    queries.append_events(
        session=session,
        conversation_id=conversation_id,
        events=[("handoff-unattended", {"escalation_id": case_id})],
        at=now,
    )
    log.info("case %d: customer told nobody has picked it up yet", case_id)
    return 1
