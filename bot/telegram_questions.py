"""Which question a Telegram chat is on, so old keyboards can be removed and stale taps ignored.

A question asked with an inline keyboard keeps its buttons until they are removed. A tap
removes the tapped keyboard; a typed answer removes the keyboard of the question it answers
(`editMessageReplyMarkup` on the message id stored when it was sent, `"{chat_id}:{message_id}"`).
A tap on a keyboard whose question is no longer the one waiting — it was answered by typing,
or the interview is over — is acknowledged with a short notice and otherwise ignored.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from telegram import Bot, CallbackQuery, Message
from telegram.error import TelegramError

from cxbot.conversations import ConversationService
from flows.state import ConversationState
from storage import queries
from storage.database import transaction

CHANNEL = "telegram"

ALREADY_ANSWERED = {
    "en": "This question was already answered.",
    "zh": "这个问题已经回答过了。",
}
"""The notice shown (as a toast) for a tap on an old keyboard."""


@dataclass(frozen=True)
class ChatView:
    """What the channel needs to know about a chat before handing over an update."""

    seen: bool = False
    """The update was handled before (a redelivery): the service answers it as a duplicate."""
    step_id: str | None = None
    """The question waiting for an answer; None when no interview is running."""
    keyboard: tuple[int, int] | None = None
    """(chat_id, message_id) of the message that shows that question's buttons."""


async def look_at(
    service: ConversationService, chat_id: int, platform_message_id: str | None
) -> ChatView:
    """Read the chat's open question and its keyboard (one short read)."""
    async with transaction(service.sessions) as session:
        seen = platform_message_id is not None and (
            await queries.find_inbound(
                session=session, channel=CHANNEL, platform_message_id=platform_message_id
            )
            is not None
        )
        customer = await queries.find_customer(
            session=session, channel=CHANNEL, external_id=str(chat_id)
        )
        conversation = (
            await queries.open_conversation(session=session, customer_id=customer.id)
            if customer is not None and customer.id is not None
            else None
        )
        if conversation is None or conversation.id is None or conversation.status != "active":
            return ChatView(seen=seen)
        step_id = ConversationState.from_json(conversation.state).step_id
        rows = await queries.recent_outbound(session=session, conversation_id=conversation.id)
    asked = next(
        (
            row
            for row in rows
            if (row.payload or {}).get("step_id") == step_id and (row.payload or {}).get("buttons")
        ),
        None,
    )
    keyboard = _message_ref(asked.platform_message_id) if asked is not None else None
    return ChatView(seen=seen, step_id=step_id, keyboard=keyboard)


def is_stale(view: ChatView, payload: str) -> bool:
    """True when a tapped button belongs to a question that is no longer waiting."""
    step_id, _, _ = payload.partition(":")
    return not view.seen and (view.step_id is None or step_id != view.step_id)


def already_answered(language_code: str | None) -> str:
    """The stale-tap notice in the customer's Telegram language."""
    language = (language_code or "en").split("-")[0].lower()
    return ALREADY_ANSWERED.get(language, ALREADY_ANSWERED["en"])


async def acknowledge(query: CallbackQuery, notice: str | None = None) -> None:
    """Answer a tap (stop the spinner, with a notice if given) and remove the tapped keyboard."""
    with suppress(TelegramError):  # a redelivered query is too old to answer: fine
        await query.answer(text=notice)
    if isinstance(query.message, Message):
        with suppress(TelegramError):  # gone already, or too old to edit
            await query.edit_message_reply_markup(reply_markup=None)


async def remove_keyboard(bot: Bot, keyboard: tuple[int, int]) -> None:
    """Take the buttons off a message the bot sent, (chat_id, message_id)."""
    chat_id, message_id = keyboard
    with suppress(TelegramError):
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)


def _message_ref(platform_message_id: str | None) -> tuple[int, int] | None:
    """(chat_id, message_id) from a sent row's platform id, `"{chat_id}:{message_id}"`."""
    chat, _, message = (platform_message_id or "").partition(":")
    if not chat.lstrip("-").isdigit() or not message.isdigit():
        return None
    return int(chat), int(message)
