"""The Telegram channel: a python-telegram-bot Application inside the FastAPI app.

Webhook mode (default): Telegram posts each update to `POST /webhooks/telegram` with the
secret token header; the update is handled inline (`Application.process_update`): the
conversation service stores the message with its reply claimed for this process, and the
200 goes back as soon as that is durable. The reply then leaves through the delivery path
(per chat in order); if this process dies first, the sweeper of any process sends it when
the claim's lease runs out. When handling fails (the database is down) the webhook answers
503 and Telegram delivers the update again; the service answers a redelivered update_id
once, and a message is sent only by the process that holds it.

Polling mode (`cxbot serve --telegram-polling`): PTB's Updater fetches updates by long
polling and the same handlers run, several chats at once; no public URL needed.
In both modes one chat's updates are handled in order (`ChatPacer.turn`). See docs/telegram.md.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from telegram import Bot, CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application

from bot.channel import Hook, Incoming, Outbox, Reply, Service
from bot.telegram_questions import acknowledge, already_answered, message_ref, remove_keyboard
from bot.telegram_sender import ChatPacer, TelegramSender
from bot.telegram_types import type_problem
from bot.telegram_updates import ALLOWED_UPDATES, install_handlers
from flows.registry import FlowRegistry

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
OVERALL_PER_SECOND = 30.0
"""Telegram's limit on one bot's messages per second, across all its senders."""
RETRY_START_SECONDS = 10.0
"""Polling mode: how often to try again when the Bot API was unreachable at start-up."""

PTBApplication = Application[Any, Any, Any, Any, Any, Any]


class _HideToken(logging.Filter):
    """Blank the bot token out of log lines (httpx logs every request URL, token included)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        return True


class _QuietFloodLimit(logging.Filter):
    """Drop AIORateLimiter's error for a 429 it does not retry: the sender waits it out in
    that chat only, and logs its own line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Rate limit hit after maximum of 0 retries")


def _hide_in_logs(token: str) -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _HideToken) and f.token == token for f in logger.filters):
        logger.addFilter(_HideToken(token))
    limiter = logging.getLogger("telegram.ext.AIORateLimiter")
    if not any(isinstance(f, _QuietFloodLimit) for f in limiter.filters):
        limiter.addFilter(_QuietFloodLimit())


@dataclass(frozen=True)
class TelegramConfig:
    """What the channel needs from the settings."""

    token: str
    webhook_secret: str | None
    api_base_url: str
    polling: bool = False
    processes: int = 1
    """App processes sending for this bot: each keeps to its share of Telegram's ~30/s."""


class TelegramChannel:
    """The running channel: the PTB application, its sender, and the webhook route."""

    def __init__(
        self, config: TelegramConfig, *, service: Service, outbox: Outbox, registry: FlowRegistry
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.polling = config.polling
        self.secret = config.webhook_secret
        builder = (
            Application.builder()
            .token(config.token)
            .base_url(config.api_base_url)
            .rate_limiter(  # ~30/s overall, shared by the processes; 429s wait per chat
                # one send per slot, no burst: N processes each starting with a full bucket
                # of 30/N would together send twice the limit in their first second
                AIORateLimiter(
                    overall_max_rate=1,
                    overall_time_period=max(config.processes, 1) / OVERALL_PER_SECOND,
                    max_retries=0,
                )
            )
            .concurrent_updates(True)  # polling: chats in parallel, each in order (pacer.turn)
        )
        if not self.polling:
            builder = builder.updater(None)
        self.application: PTBApplication = builder.build()
        self.sender = TelegramSender(self.application.bot, ChatPacer())
        self.ready = False
        self._failures: set[int] = set()
        self._starting = asyncio.Lock()
        self._retrying: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        """Replies on their way out (after their webhook call was answered)."""
        self._tails: dict[int, asyncio.Task[None]] = {}
        """Per chat: the last reply on its way out (the next one waits for it)."""
        _hide_in_logs(config.token)
        install_handlers(
            self.application,
            registry=registry,
            dispatch=self.dispatch,
            failed=self._failed,
        )

    @property
    def pacer(self) -> ChatPacer:
        """The per-chat pacing of sends (about 1 message/s per chat)."""
        return self.sender.pacer

    @property
    def hooks(self) -> tuple[Hook, Hook]:
        """(start, stop) for the app's lifespan."""
        return self.start, self.stop

    async def dispatch(
        self, chat_id: int, incoming: Incoming, query: CallbackQuery | None = None
    ) -> None:
        """Handle one customer message (or tap); its reply goes out after the webhook has
        answered, in order within the chat.

        Once `handle` returns, the message and its reply are stored (the reply claimed for
        this process), so Telegram may hear `200` at once: if this process dies before the
        reply is sent, the delivery sweeper of any process sends it when the claim's lease
        runs out. Updates of one chat are handled in order (`pacer.turn`), and their replies
        are sent in the same order (one chain of sends per chat).
        """
        async with self.pacer.turn(chat_id):
            reply = await self.service.handle(incoming)
            if reply.duplicate:
                log.info(
                    "telegram update %s already answered (%d unsent to resend)",
                    incoming.platform_message_id,
                    len(reply.undelivered),
                )
            self._later(chat_id, lambda: self._answer(reply, query))

    async def _answer(self, reply: Reply, query: CallbackQuery | None) -> None:
        """The platform side of one update: the tap acknowledged, old buttons removed, the
        reply sent through the delivery path."""
        if query is not None:
            if reply.stale:
                log.info("telegram tap on an old keyboard ignored")
                await acknowledge(query, already_answered(query.from_user.language_code))
                return
            await acknowledge(query)
        if not reply.duplicate and query is None and reply.obsolete_keyboard is not None:
            keyboard = message_ref(reply.obsolete_keyboard)
            if keyboard is not None:  # answered by typing: the buttons are obsolete
                await remove_keyboard(self.application.bot, keyboard)
        await self.outbox.deliver(reply)

    def _later(self, chat_id: int, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` after the chat's earlier replies went out (never raises)."""
        before = self._tails.get(chat_id)

        async def run() -> None:
            if before is not None:
                await asyncio.wait({before})
            try:
                await work()
            except Exception as exc:  # the reply stays claimed: the sweeper sends it
                log.warning(
                    "telegram reply not sent now (%s); the queue has it", type(exc).__name__
                )

        task = asyncio.create_task(run())
        self._tails[chat_id] = task
        self._sending.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._sending.discard(finished)
            if self._tails.get(chat_id) is finished:
                del self._tails[chat_id]

        task.add_done_callback(done)

    async def drain(self, *, seconds: float | None = None) -> None:
        """Wait until the replies of the updates handled so far went out (or `seconds`)."""
        deadline = None if seconds is None else asyncio.get_running_loop().time() + seconds
        while self._sending:
            left = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if left is not None and left <= 0:
                return
            await asyncio.wait(set(self._sending), timeout=left)

    def _failed(self, update: Update) -> None:
        """Remember that handling an update raised, so the webhook answers 503."""
        if not self.polling:
            self._failures.add(id(update))

    async def start(self) -> None:
        """Connect to the Bot API (getMe), then start polling if configured."""
        async with self._starting:
            if self.ready:
                return
            try:
                await self.application.initialize()
            except TelegramError as exc:
                log.error("telegram: Bot API not reachable at start-up (%s); will retry", exc)
                if self.polling and self._retrying is None:
                    self._retrying = asyncio.create_task(self._retry_start())
                return
            self.ready = True
        if self.polling:
            updater = self.application.updater
            assert updater is not None
            await updater.start_polling(
                timeout=timedelta(seconds=10), allowed_updates=ALLOWED_UPDATES
            )
            await self.application.start()
            log.info("telegram: polling for updates")
        else:
            log.info("telegram: webhook at %s", WEBHOOK_PATH)

    async def _retry_start(self) -> None:
        """Polling mode: keep trying to reach the Bot API (webhook mode retries per update)."""
        while not self.ready:
            await asyncio.sleep(RETRY_START_SECONDS)
            await self.start()

    async def stop(self) -> None:
        """Stop polling, let replies on their way out finish, close the Bot API client."""
        if self._retrying is not None:
            self._retrying.cancel()
            with suppress(asyncio.CancelledError):
                await self._retrying
        await self.drain(seconds=10.0)  # what is left stays claimed: the sweeper sends it
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        if self.ready:
            await self.application.shutdown()
            self.ready = False

    def secret_matches(self, given: str | None) -> bool:
        """True when the request carries our webhook secret (constant-time compare)."""
        if not self.secret or not given:
            return False
        return hmac.compare_digest(given.encode(), self.secret.encode())

    def router(self) -> APIRouter:
        """The webhook route."""
        api = APIRouter()

        @api.post(WEBHOOK_PATH, include_in_schema=False)
        async def telegram_webhook(request: Request) -> Response:
            """Take one update from Telegram and answer it before returning (503: try again)."""
            if not self.secret_matches(request.headers.get(SECRET_HEADER)):
                log.warning("telegram webhook: missing or wrong secret token; refused")
                return Response(status_code=403)
            try:
                data = json.loads(await request.body())
                if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                    raise ValueError("not an object with an integer update_id")
                json.dumps(data, ensure_ascii=False).encode("utf-8")  # no lone surrogates
                update = Update.de_json(data, self.application.bot)
                problem = _malformed(update)
                if problem is not None:
                    raise ValueError(problem)
            except Exception as exc:
                log.warning("telegram webhook: malformed update refused (%s)", exc)
                return Response(status_code=400)
            if not self.ready:
                await self.start()
                if not self.ready:
                    return Response(status_code=503)  # Telegram will deliver it again
            await self.application.process_update(update)
            if id(update) in self._failures:
                self._failures.discard(id(update))
                log.warning(
                    "telegram update %s not handled; answered 503 so Telegram delivers it again",
                    update.update_id,
                )
                return Response(status_code=503)
            return Response(status_code=200)

        return api


def _malformed(update: Update) -> str | None:
    """Why an update that parsed is still not one Telegram would send, or None."""
    return type_problem(update)


async def register_webhook(config: TelegramConfig, url: str) -> str:
    """Register `url` (with the secret) as the bot's webhook; describe the result."""
    async with Bot(config.token, base_url=config.api_base_url) as bot:
        await bot.set_webhook(
            url=url, secret_token=config.webhook_secret, allowed_updates=ALLOWED_UPDATES
        )
        info = await bot.get_webhook_info()
        return f"@{bot.username}: {info.url} (pending updates: {info.pending_update_count})"
