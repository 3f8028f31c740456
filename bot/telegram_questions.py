"""Keyboards that stay: old ones are removed and stale taps acknowledged with a notice.

A question asked with an inline keyboard keeps its buttons until they are removed. A tap
removes the tapped keyboard; a typed answer removes the keyboard of the question it answers
(`editMessageReplyMarkup` on the message id stored when it was sent, `"{chat_id}:{message_id}"`,
which the conversation service names in `Reply.obsolete_keyboard`). A tap on a keyboard whose
question is no longer the one waiting — it was answered by typing, or the interview is over —
comes back as `Reply.stale` and is acknowledged with a short notice and otherwise ignored.
"""

from __future__ import annotations

from contextlib import suppress

from telegram import Bot, CallbackQuery, Message
from telegram.error import TelegramError

ALREADY_ANSWERED = {
    "en": "This question was already answered.",
    "zh": "这个问题已经回答过了。",
}
"""The notice shown (as a toast) for a tap on an old keyboard."""


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


def message_ref(platform_message_id: str | None) -> tuple[int, int] | None:
    """(chat_id, message_id) from a sent row's platform id, `"{chat_id}:{message_id}"`."""
    chat, _, message = (platform_message_id or "").partition(":")
    if not chat.lstrip("-").isdigit() or not message.isdigit():
        return None
    return int(chat), int(message)
