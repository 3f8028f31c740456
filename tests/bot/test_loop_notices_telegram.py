"""End to end on Telegram: a detractor in a private chat opens a case, and the app's own
loop tells the agents' group once, through the same bot (the real python-telegram-bot
client against the fake Bot API), with a link to the case; the customer never sees it."""

from __future__ import annotations

import pytest

from tests.bot.telegram_chat import TelegramCustomer, Updates, running_app, telegram_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.serve_process import until

pytestmark = pytest.mark.backends("sqlite", "postgresql")
GROUP = -1001234567890


async def test_a_detractor_reaches_the_agents_group_once(db_url: str, fake: FakeTelegram) -> None:
    settings = telegram_settings(
        db_url,
        fake,
        notify_telegram_chat_id=str(GROUP),
        notify_sweep_seconds=0.05,
        notify_language="en",
        public_url="https://cx.example.com/",
    )
    async with running_app(settings) as (app, client):
        alice = TelegramCustomer(client, fake, Updates(), chat_id=8001)
        await alice.says("/start nps")
        await alice.taps("3")
        notices = await until(lambda: fake.texts(GROUP), what="a notice in the agents' group")
        assert notices == [
            "New case #1 (high): detractor\n"
            f"Reply due {notices[0].split('Reply due ')[1].split(' UTC')[0]} UTC\n"
            "https://cx.example.com/admin/escalations/1"
        ]
        await alice.says("Two weeks late and nobody answered my emails")
        await app.state.notifier.scan()  # another round: nothing new to announce
        await app.state.dispatcher.run_once()
        assert fake.texts(GROUP) == notices
        assert not any("escalations" in text for text in fake.texts(alice.chat_id))
