"""Test helpers for the Telegram channel: Telegram-shaped Update JSON and a scripted customer.

Updates are shaped as in the Bot API docs (https://core.telegram.org/bots/api#update):
a private-chat `message` with `from`, `chat`, `date`, `text` (and a `bot_command` entity for
commands), or a `callback_query` carrying the bot's message and the button's `data`.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from cxbot.app import create_app
from cxbot.settings import Settings
from tests.fakes.telegram_api import BOT_USER, FakeTelegram

SECRET = "s3cr3t_Token-1"
WEBHOOK = "/webhooks/telegram"
DATE = 1_772_442_000


class Updates:
    """Fresh update ids and message ids for one test."""

    def __init__(self) -> None:
        self.ids = itertools.count(500_000)
        self.message_ids = itertools.count(1)

    def next_id(self) -> int:
        """The next update_id."""
        return next(self.ids)


class TelegramCustomer:
    """One person in a private chat with the bot, posting updates to the webhook."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        fake: FakeTelegram,
        updates: Updates,
        chat_id: int,
        name: str = "Alice",
        language: str | None = "en",
    ) -> None:
        self.client = client
        self.fake = fake
        self.updates = updates
        self.chat_id = chat_id
        self.user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": name}
        if language:
            self.user["language_code"] = language
        self.last_update: dict[str, Any] = {}

    @property
    def chat(self) -> dict[str, Any]:
        """The private chat, as Telegram describes it."""
        return {"id": self.chat_id, "first_name": self.user["first_name"], "type": "private"}

    def message(self, text: str | None = None, **content: Any) -> dict[str, Any]:
        """A `message` update; `text` or other content (sticker, photo...)."""
        message: dict[str, Any] = {
            "message_id": next(self.updates.message_ids),
            "from": self.user,
            "chat": self.chat,
            "date": DATE,
            **content,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(" ")[0])
                message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        return {"update_id": self.updates.next_id(), "message": message}

    def tap_update(self, label: str) -> dict[str, Any]:
        """A `callback_query` update: a tap on `label` in the last keyboard the bot sent."""
        with_keyboard = [c for c in self.fake.sent(self.chat_id) if "reply_markup" in c.params]
        assert with_keyboard, "the bot sent no keyboard to this chat"
        call = with_keyboard[-1]
        markup = call.params["reply_markup"]
        data = next(
            b["callback_data"]
            for row in markup["inline_keyboard"]
            for b in row
            if b["text"] == label
        )
        message_id = call.result_id
        update_id = self.updates.next_id()
        return {
            "update_id": update_id,
            "callback_query": {
                "id": f"cbq-{update_id}",
                "from": self.user,
                "message": {
                    "message_id": message_id,
                    "from": BOT_USER,
                    "chat": self.chat,
                    "date": DATE,
                    "text": call.params["text"],
                    "reply_markup": markup,
                },
                "chat_instance": f"ci-{self.chat_id}",
                "data": data,
            },
        }

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        """Deliver one update to the webhook, as Telegram does."""
        self.last_update = update
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        response = await self.client.post(WEBHOOK, json=update, headers=headers)
        assert response.status_code == 200, response.text
        await drain(self.client)  # the webhook answers first; the reply follows at once
        return response

    async def says(self, text: str) -> None:
        """Type a message (or a command)."""
        await self.post(self.message(text))

    async def taps(self, label: str) -> None:
        """Tap a button of the last keyboard."""
        await self.post(self.tap_update(label))

    def last(self) -> str:
        """The last text the bot sent to this chat."""
        return self.fake.texts(self.chat_id)[-1]


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the test database."""
    with sqlite3.connect(db) as connection:
        return connection.execute(sql, args).fetchall()


def transcript(db: Path, chat_id: int) -> list[tuple[str, str, str, str | None]]:
    """(direction, text, delivery state, platform id) of a chat's messages, in order."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in rows(
            db,
            "SELECT m.direction, m.text, m.delivery_state, m.platform_message_id "
            "FROM message m JOIN customer c ON c.id = m.customer_id "
            "WHERE c.channel = 'telegram' AND c.external_id = ? ORDER BY m.id",
            str(chat_id),
        )
    ]


def assert_transcript_matches(db: Path, fake: FakeTelegram, customer: TelegramCustomer) -> None:
    """The stored transcript is the chat, message for message, in both directions."""
    stored = transcript(db, customer.chat_id)
    outbound = [(text, state, pid) for d, text, state, pid in stored if d == "out"]
    delivered = customer.fake.sent(customer.chat_id)
    assert [text for text, _, _ in outbound] == [c.params["text"] for c in delivered]
    assert all(state == "sent" for _, state, _ in outbound), outbound
    assert [pid for _, _, pid in outbound] == [
        f"{customer.chat_id}:{c.result_id}" for c in delivered
    ]
    inbound = [(text, state) for d, text, state, _ in stored if d == "in"]
    assert all(state == "received" for _, state in inbound)
    assert stored[0][0] == "in", "a chat starts with the customer"


TOKEN = "123456:TEST-token_abc"


async def drain(client: httpx.AsyncClient) -> None:
    """Wait until the replies of the updates the in-process app handled went out."""
    app = getattr(getattr(client, "_transport", None), "app", None)
    channel = getattr(getattr(app, "state", None), "telegram", None)
    if channel is not None:
        await channel.drain(seconds=30)


def telegram_settings(db_url: str, fake: FakeTelegram, **changes: Any) -> Settings:
    """Settings for an app whose Telegram channel talks to the fake (never the process env)."""
    fields: dict[str, Any] = {
        "database_url": db_url,
        "flow_reload_seconds": 0,
        "telegram_bot_token": TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base_url": fake.base_url,
        "telegram_polling": False,
        "public_url": None,
        **changes,
    }
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]


@asynccontextmanager
async def running_app(
    settings: Settings, *, pace: float = 0.2, backoff: float = 0.05
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan running and an in-process client; faster pacing for tests."""
    app = create_app(settings)
    channel = getattr(app.state, "telegram", None)
    if channel is not None:
        channel.pacer.interval = pace
        channel.sender.backoff = backoff
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client
