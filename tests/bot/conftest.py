"""Fixtures shared by the channel tests: the fake Telegram Bot API and the app talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.bot.telegram_chat import TOKEN, running_app, telegram_settings
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-telegram-bot's opt-in to timedelta retry_after (no deprecation warning)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API server."""
    fake = FakeTelegram(TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def served(
    db_url: str, fake: FakeTelegram
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app in webhook mode, talking to the fake."""
    async with running_app(telegram_settings(db_url, fake)) as served:
        yield served
