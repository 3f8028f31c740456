"""Sending to Telegram: inline keyboards, per-chat pacing, retries, and delivery records.

Telegram's limits: about 30 messages/s overall (PTB's `AIORateLimiter` enforces that) and
about 1 message/s in one chat, which `AIORateLimiter` does not enforce for private chats —
`ChatPacer` does. A 429 is waited out here, in that chat only (`AIORateLimiter` would pause
every chat); network errors are retried with exponential backoff. A message that still
cannot be sent goes back to the queue (`RetryLater`) or, when it never will be (blocked by
the user, a bad request), is `Undeliverable`; the delivery path records either on its row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.channel import Recipient, RetryLater, Undeliverable, pseudonym
from flows.state import Button, Outbound

log = logging.getLogger(__name__)

CHANNEL = "telegram"

ANSWER_PREFIX = "="
"""Marks callback data that carries an answer: `=` + the button payload (`step_id:value`).

One byte, so the longest payload a flow can produce (63 bytes) still fits Telegram's 64."""
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
MAX_PER_ROW_SCALE = 8
"""Scales up to this many points get one row; longer ones (NPS 0-10) two rows."""
SHORT_LABEL = 14
"""Choice labels up to this many characters are laid out two per row."""


def callback_data(button: Button) -> str:
    """The callback data of an answer button."""
    return ANSWER_PREFIX + button.payload


def answer_from_callback(data: str | None) -> str | None:
    """The button payload in callback data, or None if it is not an answer button."""
    if not data or not data.startswith(ANSWER_PREFIX) or ":" not in data:
        return None
    return data[len(ANSWER_PREFIX) :]


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """The inline keyboard for a message's buttons, or None when it has none (or cannot)."""
    if not buttons:
        return None
    if any(len(callback_data(b).encode()) > MAX_CALLBACK_BYTES for b in buttons):
        log.error("button payload longer than Telegram allows; sending the text hint instead")
        return None
    keys = [InlineKeyboardButton(b.label, callback_data=callback_data(b)) for b in buttons]
    if all(b.label.lstrip("-").isdigit() for b in buttons):  # a scale: 0-10, 1-7, 1-5
        width = len(keys) if len(keys) <= MAX_PER_ROW_SCALE else (len(keys) + 1) // 2
    else:  # choices: two short ones per row, otherwise one per row
        width = 2 if max(len(b.label) for b in buttons) <= SHORT_LABEL else 1
    return InlineKeyboardMarkup(_rows(keys, width))


def message_text(outbound: Outbound, markup: InlineKeyboardMarkup | None) -> str:
    """What the message says: the text, plus the typed-answer hint when there are no buttons."""
    text = outbound.text if markup is not None else outbound.as_plain_text()
    return text[: MessageLimit.MAX_TEXT_LENGTH]


@dataclass
class ChatPacer:
    """Keeps one chat's turns in order and its messages `interval` seconds apart."""

    interval: float = 1.0
    _next_at: dict[int, float] = field(default_factory=dict)
    _locks: dict[int, tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        """Hold the chat while one update is handled and answered (updates run in order)."""
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)

    async def wait(self, chat_id: int) -> float:
        """Wait for this chat's next sending slot; return how long we waited."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_at.get(chat_id, now))
        self._next_at[chat_id] = slot + self.interval  # reserved before sleeping
        if len(self._next_at) > 1024:
            self._next_at = {c: t for c, t in self._next_at.items() if t > now}
        if slot > now:
            await asyncio.sleep(slot - now)
        return slot - now

    def hold(self, chat_id: int, seconds: float) -> None:
        """Send nothing more to this chat for `seconds` (Telegram's retry_after)."""
        until = asyncio.get_running_loop().time() + seconds
        self._next_at[chat_id] = max(self._next_at.get(chat_id, until), until)


@dataclass
class TelegramSender:
    """The Telegram half of the delivery path (`bot.channel.Sender`): one message per call,
    paced per chat, retried in place for short waits; longer waits go back to the queue."""

    bot: Bot
    pacer: ChatPacer = field(default_factory=ChatPacer)
    attempts: int = 4
    """Tries per message when the network fails, before it goes back to the queue."""
    backoff: float = 0.5
    """Seconds before the first network retry; doubles each time."""
    flood_retries: int = 3
    """How often a 429 is waited out here (after Telegram's retry_after) before the message
    goes back to the queue."""
    channel: str = CHANNEL
    route: str = "bot_api"
    batch: bool = False
    window: timedelta | None = None
    quota: int | None = None

    def unreachable(self, address: str) -> str | None:
        """Why `address` is not a Telegram chat id, or None."""
        return None if address.lstrip("-").isdigit() else "not a Telegram chat id"

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> str | None:
        """Send one message; return `"{chat_id}:{message_id}"`."""
        chat_id = int(recipient.address)
        (outbound,) = messages
        markup = keyboard(outbound.buttons)
        text = message_text(outbound, markup)
        delay = self.backoff
        failures = floods = 0
        while True:
            await self.pacer.wait(chat_id)
            try:
                sent = await self.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
            except RetryAfter as exc:  # flood control: wait in this chat, others go on
                pause = _seconds(exc.retry_after) + 0.1
                floods += 1
                if floods > self.flood_retries:
                    raise RetryLater(f"RetryAfter: {exc}", pause) from None
                log.info("telegram chat %s rate-limited; retrying in %.1fs", _who(chat_id), pause)
                self.pacer.hold(chat_id, pause)
            except BadRequest as exc:  # a NetworkError subclass, but retrying will not help
                raise Undeliverable(f"BadRequest: {exc}") from None
            except NetworkError as exc:  # includes TimedOut
                error = f"{type(exc).__name__}: {exc}"
                failures += 1
                if failures == self.attempts:
                    raise RetryLater(error, 30.0) from None
                log.warning(
                    "telegram send to %s failed (%s); retry %d in %.2fs",
                    _who(chat_id),
                    error,
                    failures,
                    delay,
                )
                await asyncio.sleep(delay)
                delay *= 2
            except TelegramError as exc:  # Forbidden (blocked by the user), ...
                raise Undeliverable(f"{type(exc).__name__}: {exc}") from None
            else:
                return f"{chat_id}:{sent.message_id}"


def _who(chat_id: int) -> str:
    return pseudonym(chat_id)


def _seconds(retry_after: int | timedelta) -> float:
    """RetryAfter.retry_after in seconds (an int, or a timedelta with PTB_TIMEDELTA set)."""
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
