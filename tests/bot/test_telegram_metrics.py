"""/metrics with Telegram: inbound updates, sends by result, failures by Telegram's error
class, and the outbound queue when a send is deferred — with no chat id or text in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.bot.telegram_chat import TelegramCustomer, Updates, running_app, telegram_settings
from tests.cxbot.metrics_scrape import label_values, scrape, value
from tests.fakes.telegram_api import FakeTelegram

ALICE, BOB, CAROL = 7_310_001, 7_310_002, 7_310_003


@pytest.fixture
async def served(
    db_url: str, fake: FakeTelegram
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with metrics on, talking to the fake Bot API."""
    async with running_app(telegram_settings(db_url, fake, metrics=True)) as served:
        yield served


async def test_sends_failures_and_a_deferred_message_show_in_the_metrics(
    served: tuple[FastAPI, httpx.AsyncClient], fake: FakeTelegram
) -> None:
    app, client = served
    app.state.telegram.sender.flood_retries = 0  # the first 429 hands the message back
    updates = Updates()
    alice, bob, carol = (
        TelegramCustomer(client, fake, updates, chat_id=chat, name=name)
        for chat, name in ((ALICE, "Alicia Quux"), (BOB, "Bobby Quux"), (CAROL, "Carol Quux"))
    )
    _, before = await scrape(client)
    assert value(before, "cxbot_outbox_waiting_messages", channel="telegram") == 0

    await alice.says("/start")  # sent
    fake.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    await bob.says("/start")  # failed
    fake.fail_next("sendMessage", status=429, retry_after=60, chat_id=CAROL)
    await carol.says("/start")  # deferred: waits in the queue for a minute
    await alice.says("9")
    text, after = await scrape(client)

    assert value(after, "cxbot_inbound_messages_total", channel="telegram", outcome="ok") == 4
    assert value(after, "cxbot_handling_seconds_count", channel="telegram", outcome="ok") == 4
    assert value(after, "cxbot_sent_messages_total", channel="telegram", result="sent") == len(
        fake.sent()
    )
    assert value(after, "cxbot_sent_messages_total", channel="telegram", result="failed") == 1
    assert value(after, "cxbot_sent_messages_total", channel="telegram", result="deferred") == 1
    assert value(after, "cxbot_send_errors_total", channel="telegram", error="Forbidden") == 1
    assert value(after, "cxbot_send_errors_total", channel="telegram", error="RetryAfter") == 1
    assert label_values(after, "error") == {"Forbidden", "RetryAfter"}
    # the deferred message waits in the outbox, and its age is measured
    assert value(after, "cxbot_outbox_query_ok") == 1
    assert value(after, "cxbot_outbox_waiting_messages", channel="telegram") == 1
    assert 0 < value(after, "cxbot_outbox_oldest_waiting_seconds", channel="telegram") < 60
    # nothing of the customers: chat ids, names, the error's text
    for private in (*(str(c) for c in (ALICE, BOB, CAROL)), "Quux", "blocked", "Flood"):
        assert private not in text
