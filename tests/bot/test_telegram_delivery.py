"""Delivery across processes and failures: claims, 503 on a failed update, `channel.send`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine

from cxbot.conversations import Incoming, Reply
from cxbot.delivery import Delivery
from storage import queries
from storage.database import create_sessions, transaction
from storage.writes import Writer
from tests.bot.telegram_chat import (
    SECRET,
    WEBHOOK,
    TelegramCustomer,
    Updates,
    assert_transcript_matches,
    rows,
    running_app,
    telegram_settings,
)
from tests.fakes.telegram_api import FakeTelegram

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


async def test_a_redelivery_to_another_process_is_sent_once(
    db_url: str, fake: FakeTelegram, db_path: Path
) -> None:
    settings = telegram_settings(db_url, fake)
    updates = Updates()
    async with running_app(settings) as (_, first), running_app(settings) as (_, second):
        alice = TelegramCustomer(first, fake, updates, chat_id=7301)
        again = TelegramCustomer(second, fake, updates, chat_id=7301)
        update = alice.message("/start")
        fake.fail_next("sendMessage", status=429, retry_after=1, chat_id=alice.chat_id)

        async def redelivered() -> httpx.Response:
            await asyncio.sleep(0.3)  # Telegram gave up waiting and asks the other process
            return await again.post(update)

        await asyncio.gather(alice.post(update), redelivered())
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [429, 200]
    assert len(fake.sent(alice.chat_id)) == 1
    assert_transcript_matches(db_path, fake, alice)


async def _database_down(app: FastAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the service at a database file that cannot be opened."""
    service = app.state.telegram.service
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'cxbot.db'}")
    monkeypatch.setattr(service, "sessions", create_sessions(engine))


async def _service_raises(app: FastAPI, monkeypatch: pytest.MonkeyPatch, _: Path) -> None:
    """Make the service fail in a way it cannot absorb."""

    async def handle(incoming: Incoming) -> Reply:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(app.state.telegram.service, "handle", handle)


@pytest.mark.parametrize("failure", [_database_down, _service_raises])
async def test_a_failed_update_is_a_503_and_handled_on_redelivery(
    served: tuple[FastAPI, httpx.AsyncClient],
    fake: FakeTelegram,
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Callable[[FastAPI, pytest.MonkeyPatch, Path], Awaitable[None]],
) -> None:
    app, client = served
    alice = TelegramCustomer(client, fake, Updates(), chat_id=7302)
    update = alice.message("/start")
    with monkeypatch.context() as patch:
        await failure(app, patch, tmp_path)
        response = await client.post(WEBHOOK, json=update, headers=HEADERS)
    assert response.status_code == 503  # not 200-and-lost: Telegram delivers it again
    assert "answered 503 so Telegram delivers it again" in caplog.text
    assert fake.sent() == []

    await alice.post(update)  # the redelivery, once the database is back
    await alice.post(update)  # and a second one: still answered once
    assert len(fake.sent(alice.chat_id)) == 1
    assert rows(db_path, "SELECT count(*) FROM message WHERE direction = 'in'") == [(1,)]
    assert_transcript_matches(db_path, fake, alice)


async def test_a_queued_message_is_sent_once_by_two_sweeping_processes(
    served: tuple[FastAPI, httpx.AsyncClient], fake: FakeTelegram, db_path: Path
) -> None:
    app = served[0]
    channel, runtime = app.state.telegram, app.state.runtime
    chat_id = 7303
    note = "An agent will call you back at 3 pm."
    async with transaction(runtime.service.sessions) as session:
        customer = await queries.get_or_create_customer(
            session=session, channel="telegram", external_id=str(chat_id)
        )
        assert customer.id is not None
        queries.add_message(
            session=session,
            customer_id=customer.id,
            conversation_id=None,
            channel="telegram",
            direction="out",
            author="agent",
            text=note,
            delivery_state="pending",
        )
    other = Delivery(writer=Writer(runtime.service.sessions), clock=runtime.service.clock)
    other.register(channel.sender)  # a second app process on the same database
    counts = await asyncio.gather(runtime.delivery.sweep(), other.sweep())
    assert sorted(counts) == [0, 1]
    assert fake.texts(chat_id) == [note]
    assert await asyncio.gather(runtime.delivery.sweep(), other.sweep()) == [0, 0]
    assert rows(db_path, "SELECT delivery_state, platform_message_id FROM message") == [
        ("sent", f"{chat_id}:{fake.sent(chat_id)[0].result_id}")
    ]


async def test_an_agent_message_goes_through_the_delivery_path(
    served: tuple[FastAPI, httpx.AsyncClient], fake: FakeTelegram, db_path: Path
) -> None:
    app, client = served
    alice = TelegramCustomer(client, fake, Updates(), chat_id=7304)
    await alice.says("/start")
    report = await app.state.runtime.delivery.send_text(
        channel="telegram", customer_ref="7304", text="您好，我是客服小王。"
    )
    assert report.complete and len(report.sent) == 1
    assert fake.texts(7304)[-1] == "您好，我是客服小王。"
    assert rows(
        db_path, "SELECT author, delivery_state FROM message WHERE id = ?", report.sent[0]
    ) == [("agent", "sent")]


async def test_a_telegram_message_costs_two_transactions(
    db_url: str, fake: FakeTelegram, db_path: Path
) -> None:
    """One to handle it (customer, dedupe, state, transcript, the reply's claim), one to record
    the reply as sent; before the one delivery path it was four."""
    settings = telegram_settings(db_url, fake, delivery_sweep_seconds=600)
    async with running_app(settings) as (app, client):
        alice = TelegramCustomer(client, fake, Updates(), chat_id=7305)
        await alice.says("/start")
        begun: list[int] = []
        engine = app.state.runtime.engine.sync_engine
        count = lambda _connection: begun.append(1)  # noqa: E731
        event.listen(engine, "begin", count)
        try:
            await alice.says("9")  # a typed score: the keyboard is removed, one question sent
            typed = len(begun)
            begun.clear()
            await alice.says("Fast and friendly")  # the reason: one closing message
            reason = len(begun)
        finally:
            event.remove(engine, "begin", count)
    print(f"\ntransactions per Telegram message: {typed} (typed score), {reason} (reason)")
    assert (typed, reason) == (2, 2)
    assert_transcript_matches(db_path, fake, alice)
