"""What a returning customer should see (the web chat reloads its page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage import queries
from storage.models import Message

if TYPE_CHECKING:
    from cxbot.conversations import ConversationService


@dataclass(frozen=True)
class History:
    """A customer's recent messages and the interview they are in (for the web chat)."""

    messages: tuple[Message, ...]
    flow_id: str | None
    status: str | None


async def history(
    service: ConversationService, *, channel: str, customer_ref: str, after_id: int = 0
) -> History:
    """What a returning customer should see: messages after `after_id` and the open interview."""
    async with service.sessions() as session:
        customer = await queries.find_customer(
            session=session, channel=channel, external_id=customer_ref
        )
        if customer is None or customer.id is None:
            return History((), None, None)
        rows = await queries.customer_messages(
            session=session, customer_id=customer.id, after_id=after_id
        )
        conversation = await queries.open_conversation(session=session, customer_id=customer.id)
    return History(
        tuple(rows),
        conversation.flow_id if conversation else None,
        conversation.status if conversation else None,
    )
