"""What happens when handling a message fails inside cxbot: the customer's message is kept,
they get an apology in their language (never an exception's text), and a running
interview goes to a person with a high-priority `internal-error` escalation."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel import Incoming, Recipient, Reply
from cxbot.greetings import sorry
from cxbot.handoff import HandoffPolicy, open_case
from cxbot.transcript import duplicate_reply, inbound_text, store_inbound, store_replies
from flows import language as languages
from storage import queries


async def apologize(
    *,
    policy: HandoffPolicy,
    session: AsyncSession,
    incoming: Incoming,
    at: datetime,
    now: datetime,
    lease: timedelta,
) -> Reply:
    """Store the message and an apology, escalate a running interview; return the reply."""
    customer = await queries.get_or_create_customer(  # locked, as handling a message does:
        session=session,  # a case opened meanwhile by another process is seen, not doubled
        channel=incoming.channel,
        external_id=incoming.customer_ref,
        lock=True,
    )
    assert customer.id is not None
    duplicate = await duplicate_reply(
        session=session,
        customer_id=customer.id,
        incoming=incoming,
        now=now,
        lease=lease,
    )
    recipient = Recipient(incoming.channel, incoming.customer_ref, customer.last_inbound_at)
    if duplicate is not None:
        return replace(duplicate, recipient=recipient)
    conversation = await queries.open_conversation(session=session, customer_id=customer.id)
    inbound_id = await store_inbound(
        session=session,
        customer_id=customer.id,
        conversation_id=conversation.id if conversation else None,
        incoming=incoming,
        text=await inbound_text(session=session, conversation=conversation, incoming=incoming),
        at=now,
    )
    language = (
        conversation.language
        if conversation
        else languages.choose(["zh", "en"], "zh", incoming.language_hint, customer.language)
    )
    await session.flush()
    conversation_id = conversation.id if conversation else None
    if conversation is not None and conversation_id is not None:
        # the engine stays out of it from now on: the stored state says so too, or the next
        # message would carry on the interview and reopen it
        conversation.status = "handed_off"
        conversation.state = {
            **conversation.state,
            "status": "handed_off",
            "step_id": None,
            "escalated": True,
        }
        await open_case(  # one open case per conversation: an existing one stays
            session=session,
            policy=policy,
            customer_id=customer.id,
            conversation_id=conversation_id,
            reason="internal-error",
            priority="high",
            at=at,
        )
    messages, held_since = await store_replies(
        session=session,
        customer_id=customer.id,
        conversation_id=conversation_id,
        incoming=incoming,
        reply_to_id=inbound_id,
        messages=[sorry(language)],
        now=now,
    )
    event = ("service-error", {"escalated": conversation is not None})
    queries.append_events(session=session, conversation_id=conversation_id, events=[event], at=at)
    return Reply(
        messages,
        conversation_id=conversation_id,
        customer_id=customer.id,
        events=(event,),
        held_since=held_since,
        recipient=recipient,
    )
