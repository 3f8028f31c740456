"""The loop's last turn: after an agent resolves a case the customer may get one question,
"Was your issue resolved?" (buttons where the channel has them, 1/2 typed otherwise); the
answer is recorded on the case (`escalation.closing_answer`) and the conversation closes.

The conversation service calls `take_answer` for a handed-off conversation before anything
else: a recognised answer is recorded and thanked; anything else closes the conversation
without an answer and is handled as a new message (a trigger word starts a survey).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel import Incoming
from cxbot.recording import save_state
from flows.events import Event
from flows.state import Button, ConversationState, Outbound
from flows.texts import builtin
from storage import desk as desk_queries
from storage.models import Conversation

YES = frozenset({"1", "yes", "y", "yep", "yeah", "是", "是的", "对", "解决了", "已解决", "好了"})
NO = frozenset({"2", "no", "n", "nope", "否", "不", "没有", "没", "没解决", "未解决", "还没有"})
PAYLOAD = "closing:"


@dataclass(frozen=True)
class ClosingAnswered(Event):
    """The customer answered the closing question of a resolved case."""

    name: ClassVar[str] = "closing-answered"
    escalation_id: int
    answer: str


@dataclass(frozen=True)
class ClosingUnanswered(Event):
    """The customer wrote something else after the closing question: no answer is kept."""

    name: ClassVar[str] = "closing-unanswered"
    escalation_id: int


@dataclass(frozen=True)
class ClosingTurn:
    """What the customer's message did to a pending closing question."""

    answered: bool
    notes: tuple[Outbound, ...]
    events: tuple[Event, ...]


def question(language: str) -> Outbound:
    """The closing question in the customer's language, with yes/no buttons and a typed hint."""
    return Outbound(
        builtin("closing_question", language),
        (
            Button(builtin("closing_yes", language), PAYLOAD + "yes"),
            Button(builtin("closing_no", language), PAYLOAD + "no"),
        ),
        builtin("closing_hint", language),
    )


def read_answer(incoming: Incoming) -> str | None:
    """`yes`, `no`, or None when the message is not an answer to the closing question."""
    if incoming.button is not None:
        value = incoming.button.removeprefix(PAYLOAD)
        return value if incoming.button.startswith(PAYLOAD) and value in ("yes", "no") else None
    text = incoming.text.strip().strip("。.!！ ").lower()
    if text in YES:
        return "yes"
    if text in NO:
        return "no"
    return None


def close_conversation(conversation: Conversation, at: datetime) -> None:
    """End a handed-off conversation: the customer may be surveyed again later."""
    state = ConversationState.from_json(conversation.state)
    save_state(conversation, state.evolve(status="completed", step_id=None), at)


async def take_answer(
    *, session: AsyncSession, conversation: Conversation, incoming: Incoming, at: datetime
) -> ClosingTurn | None:
    """Read the customer's message as the answer to a pending closing question (None when
    no question is pending in this conversation)."""
    assert conversation.id is not None
    case = await desk_queries.pending_closing(session=session, conversation_id=conversation.id)
    if case is None or case.id is None:
        return None
    close_conversation(conversation, at)
    answer = read_answer(incoming)
    if answer is None:
        return ClosingTurn(False, (), (ClosingUnanswered(case.id),))
    case.closing_answer = answer
    case.updated_at = at
    thanks = Outbound(builtin(f"closing_thanks_{answer}", conversation.language))
    return ClosingTurn(True, (thanks,), (ClosingAnswered(case.id, answer),))
