"""Keyboards that stay until removed (Telegram): which message shows the buttons a typed
answer makes obsolete, and whether a tap belongs to a question no longer waiting."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.state import ConversationState
from storage import queries
from storage.models import Conversation


async def obsolete_keyboard(
    session: AsyncSession, conversation: Conversation, state: ConversationState
) -> str | None:
    """The platform id of the message showing the open question's buttons (the channel
    removes them when the customer answers by typing)."""
    if conversation.status != "active" or conversation.id is None:
        return None
    for row in await queries.recent_outbound(session=session, conversation_id=conversation.id):
        payload = row.payload or {}
        if payload.get("step_id") == state.step_id and payload.get("buttons"):
            return row.platform_message_id
    return None


def tapped_old(
    conversation: Conversation | None, state: ConversationState | None, button: str | None
) -> bool:
    """True when a tapped button (`step_id:value`) belongs to a question no longer waiting."""
    step_id, _, _ = (button or "").partition(":")
    if conversation is None or state is None or conversation.status != "active":
        return True
    return step_id != state.step_id
