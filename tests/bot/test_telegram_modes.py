"""How the Telegram channel runs: not mounted, webhook without a secret, polling, set-webhook."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from cxbot.channels import set_webhook_command
from tests.bot.telegram_chat import (
    SECRET,
    TOKEN,
    WEBHOOK,
    TelegramCustomer,
    Updates,
    assert_transcript_matches,
    running_app,
    telegram_settings,
)
from tests.conftest import free_port
from tests.fakes.telegram_api import FakeTelegram


async def test_without_a_token_the_channel_is_not_mounted(
    db_url: str, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    settings = telegram_settings(db_url, fake, telegram_bot_token=None)
    with caplog.at_level("INFO", logger="cxbot.channels"):
        async with running_app(settings) as (app, client):
            response = await client.post(WEBHOOK, json={"update_id": 1})
    assert response.status_code == 404
    assert not hasattr(app.state, "telegram")
    assert "telegram channel not mounted: TELEGRAM_BOT_TOKEN is not set" in caplog.text
    assert fake.calls == []


async def test_without_a_secret_the_webhook_refuses_everything(
    db_url: str, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    settings = telegram_settings(db_url, fake, telegram_webhook_secret=None)
    async with running_app(settings) as (_, client):
        for secret in (
            {},
            {"X-Telegram-Bot-Api-Secret-Token": ""},
            {"X-Telegram-Bot-Api-Secret-Token": SECRET},
        ):
            response = await client.post(WEBHOOK, json={"update_id": 1}, headers=secret)
            assert response.status_code == 403
    assert "TELEGRAM_WEBHOOK_SECRET is not set" in caplog.text


async def test_an_unreachable_bot_api_at_start_up_is_retried_later(
    db_url: str, fake: FakeTelegram, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = fake.port
    await fake.stop()  # Telegram is down while the app starts
    settings = telegram_settings(db_url, fake)
    async with running_app(settings) as (_, client):
        customer = TelegramCustomer(client, fake, Updates(), chat_id=9001)
        update = customer.message("/start")
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        response = await client.post(WEBHOOK, json=update, headers=headers)
        assert response.status_code == 503  # Telegram keeps the update and retries
        assert "Bot API not reachable at start-up" in caplog.text
        fake.port = port
        await fake.start_on(port)
        response = await client.post(WEBHOOK, json=update, headers=headers)
        assert response.status_code == 200
    assert [c.method for c in fake.calls] == ["getMe", "sendMessage"]
    assert_transcript_matches(db_path, fake, customer)


async def test_polling_mode_answers_updates_without_a_webhook(
    db_url: str, fake: FakeTelegram, db_path: Path
) -> None:
    settings = telegram_settings(db_url, fake, telegram_polling=True)
    async with running_app(settings) as (_, client):
        assert (await client.post(WEBHOOK, json={"update_id": 1})).status_code == 404
        customer = TelegramCustomer(client, fake, Updates(), chat_id=9002)
        fake.push_update(customer.message("/start csat"))
        for _ in range(100):
            if fake.sent():
                break
            await asyncio.sleep(0.05)
        assert fake.texts(9002)[0].startswith("Hi! Your order from our store has been delivered.")
        fake.push_update(customer.tap_update("5"))
        for _ in range(100):
            if len(fake.sent()) == 2:
                break
            await asyncio.sleep(0.05)
        assert (
            customer.last()
            == "Great to hear! Anything you'd like to tell us?\n(reply “skip” to skip)"
        )
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5
    methods = [c.method for c in fake.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    polls = fake.called("getUpdates")
    assert polls[0].params["allowed_updates"] == ["message", "callback_query"]
    assert "answerCallbackQuery" in methods and "editMessageReplyMarkup" in methods
    assert_transcript_matches(db_path, fake, customer)


async def test_polling_answers_other_chats_while_one_waits_out_a_429(
    db_url: str, fake: FakeTelegram, db_path: Path
) -> None:
    settings = telegram_settings(db_url, fake, telegram_polling=True)
    async with running_app(settings) as (_, client):
        updates = Updates()
        slow = TelegramCustomer(client, fake, updates, chat_id=9011)
        other = TelegramCustomer(client, fake, updates, chat_id=9012)
        fake.fail_next("sendMessage", status=429, retry_after=1, chat_id=slow.chat_id)
        fake.push_update(slow.message("/start"))
        fake.push_update(other.message("/start"))
        for _ in range(200):
            if fake.sent(slow.chat_id):
                break
            await asyncio.sleep(0.05)
    (refused,) = fake.called("sendMessage", ok=False)
    (answered,) = fake.sent(other.chat_id)
    (retried,) = fake.sent(slow.chat_id)
    assert refused.params["chat_id"] == slow.chat_id
    assert retried.at - refused.at >= 1.0  # Telegram's retry_after, in that chat
    assert answered.at < refused.at + 0.9  # the other chat did not wait for it
    assert_transcript_matches(db_path, fake, slow)
    assert_transcript_matches(db_path, fake, other)


def test_set_webhook_needs_token_secret_and_public_url(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeTelegram(TOKEN, port=free_port())
    settings = telegram_settings(db_url, fake, telegram_webhook_secret=None)
    assert set_webhook_command(settings) == 1
    assert "set TELEGRAM_WEBHOOK_SECRET, CXBOT_PUBLIC_URL" in capsys.readouterr().err


async def test_set_webhook_registers_the_url_and_secret(
    db_url: str, fake: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = telegram_settings(db_url, fake, public_url="https://cx.example.com/")
    assert await asyncio.to_thread(set_webhook_command, settings) == 0
    call = fake.called("setWebhook")[0]
    assert call.params == {
        "url": "https://cx.example.com/webhooks/telegram",
        "secret_token": SECRET,
        "allowed_updates": ["message", "callback_query"],
    }
    out = capsys.readouterr().out
    assert "webhook set for @cxbot_test_bot: https://cx.example.com/webhooks/telegram" in out

    fake.fail_next(
        "setWebhook",
        status=400,
        description="Bad Request: bad webhook: HTTPS url must be provided for webhook",
    )
    assert await asyncio.to_thread(set_webhook_command, settings) == 1
    assert "setWebhook failed: Bad webhook: https url must be provided" in capsys.readouterr().err


async def test_polling_starts_once_the_bot_api_answers(
    db_url: str, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.telegram.RETRY_START_SECONDS", 0.1)
    port = fake.port
    await fake.stop()
    settings = telegram_settings(db_url, fake, telegram_polling=True)
    async with running_app(settings) as (app, _):
        assert not app.state.telegram.ready
        await fake.start_on(port)
        for _ in range(100):
            if fake.called("getUpdates"):
                break
            await asyncio.sleep(0.05)
        assert app.state.telegram.ready
    assert [c.method for c in fake.calls][:3] == ["getMe", "deleteWebhook", "getUpdates"]


async def test_the_token_is_kept_out_of_request_logs(
    db_url: str, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="httpx"):
        async with running_app(telegram_settings(db_url, fake)):
            pass
    assert "getMe" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(("workers", "rate"), [(1, 30.0), (2, 15.0), (3, 10.0)])
async def test_processes_share_telegrams_overall_limit(
    db_url: str, fake: FakeTelegram, workers: int, rate: float
) -> None:
    """Two `cxbot serve` workers send for one bot: together they keep to Telegram's 30/s."""
    settings = telegram_settings(db_url, fake, workers=workers)
    async with running_app(settings) as (app, _):
        limiter = app.state.telegram.application.bot.rate_limiter._base_limiter
        assert limiter.max_rate / limiter.time_period == pytest.approx(rate)
        assert limiter.max_rate == 1  # no burst above the share
