"""Reading Telegram updates: small PTB handlers that turn an update into an `Incoming`.

The handlers only translate; the interview itself is the engine's (no ConversationHandler).
Rules for what is answered:

- private chats only; group, supergroup and channel messages are ignored (logged);
- `/start [flow]` starts an interview (a deep link `t.me/bot?start=csat` names the flow),
  `/stop` and `/human` are commands, other text (trigger keywords, `/feedback`) is text;
- a tap on an answer button is handed over with its callback query, which the channel
  answers (spinner stopped, or a short notice for a stale keyboard);
- stickers, photos, voice and other non-text messages are `unsupported` (a polite answer);
- edited messages, channel posts and any other update type are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from telegram import CallbackQuery, Chat, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, TypeHandler, filters

from bot.channel import Incoming, Unavailable, pseudonym
from bot.telegram_sender import answer_from_callback
from flows.registry import FlowRegistry

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
"""The update types Telegram is asked to deliver (webhook and polling)."""

Dispatch = Callable[[int, Incoming, CallbackQuery | None], Awaitable[None]]
"""Handle one customer message (or button tap, with its query) in a chat and send the reply."""

Failed = Callable[[Update], None]
"""Told about an update whose handling raised (the webhook then answers 503)."""


def _customer(update: Update, chat: Chat, **fields: Any) -> Incoming:
    user = update.effective_user
    return Incoming(
        channel=CHANNEL,
        customer_ref=str(chat.id),
        platform_message_id=str(update.update_id),
        language_hint=user.language_code if user else None,
        display_name=user.full_name if user else None,
        keyboards=True,  # inline keyboards stay until removed
        **fields,
    )


def incoming_from_message(update: Update, message: Message, registry: FlowRegistry) -> Incoming:
    """What a private-chat message says, for the conversation service."""
    text = (message.text or "").strip()
    if not text:
        return _customer(update, message.chat, kind="unsupported")
    if text.startswith("/"):
        word, _, rest = text.partition(" ")
        command = word[1:].split("@", 1)[0].lower()
        if command == "start":
            payload = rest.strip()
            flow_id = payload if payload and registry.current(payload) is not None else None
            if payload and flow_id is None:
                log.info(
                    "telegram /start with unknown flow %s; starting the default", pseudonym(payload)
                )
            return _customer(update, message.chat, kind="command", command="start", flow_id=flow_id)
        if command in ("stop", "human"):
            return _customer(update, message.chat, kind="command", command=command)
        text = f"/{command} {rest}".strip()  # /feedback@MyBot -> /feedback (a flow's command)
    return _customer(update, message.chat, kind="text", text=text)


def describe(update: object) -> str:
    """What kind of update this is (`message in group`, `edited_message`, ...), for logs."""
    if not isinstance(update, Update):
        return type(update).__name__
    kinds = [key for key, value in update.to_dict().items() if key != "update_id" and value]
    chat = update.effective_chat
    where = f" in {chat.type}" if chat is not None and chat.type != ChatType.PRIVATE else ""
    return f"{', '.join(kinds) or 'empty update'}{where} (update {update.update_id})"


def install_handlers(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    registry: FlowRegistry,
    dispatch: Dispatch,
    failed: Failed,
) -> None:
    """Register the translating handlers on a PTB application."""

    async def on_message(update: Update, _: object) -> None:
        message = update.message
        assert message is not None
        await dispatch(message.chat.id, incoming_from_message(update, message, registry), None)

    async def on_button(update: Update, _: object) -> None:
        query = update.callback_query
        assert query is not None
        payload = answer_from_callback(query.data)
        message = query.message
        if message is None or payload is None or message.chat.type != ChatType.PRIVATE:
            log.info("telegram callback ignored (data %s)", pseudonym(query.data))
            with suppress(TelegramError):
                await query.answer()  # stop the spinner
            return
        incoming = _customer(update, message.chat, kind="button", button=payload)
        await dispatch(message.chat.id, incoming, query)

    async def on_other(update: object, _: object) -> None:
        log.info("telegram update ignored by rule: %s", describe(update))

    async def on_error(update: object, context: Any) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        if isinstance(context.error, Unavailable):  # an outage: one line, no traceback
            log.warning("telegram update %s not stored: %s", update_id, context.error)
        else:
            log.error("telegram update %s failed", update_id, exc_info=context.error)
        if isinstance(update, Update):
            failed(update)

    private_messages = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(private_messages, on_message))
    application.add_handler(TypeHandler(object, on_other))
    application.add_error_handler(on_error)
