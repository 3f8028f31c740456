"""The platforms' webhooks with a stalled database: WeChat always has its answer within its
5 seconds, Telegram gets a 503 (and delivers the update again) well within its deadline."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.bot.telegram_chat import SECRET, WEBHOOK, TelegramCustomer, Updates
from tests.bot.wechat_chat import Rig, running
from tests.cxbot.test_outage import table_locked, write_lock_held
from tests.fakes.telegram_api import FakeTelegram

WECHAT_DEADLINE = 5.0
"""WeChat waits this long for an answer, then retries."""
NPS_QUESTION = "您有多大可能把我们推荐给朋友或同事？"


async def answers_while_stalled(rig: Rig, openids: list[str]) -> list[tuple[int, float]]:
    """Each customer's message posted at once; (status, seconds) of WeChat's answers."""

    async def post(openid: str) -> tuple[int, float]:
        started = time.perf_counter()
        response = await rig.server.post(rig.follower(openid).text_xml("评价", msg_id=_id(openid)))
        return response.status_code, time.perf_counter() - started

    return list(await asyncio.gather(*(post(o) for o in openids)))


def _id(openid: str) -> int:
    return 24_100_000_000_000_000 + int(openid.removeprefix("o_"))


@pytest.mark.backends("sqlite", "postgresql")
async def test_wechat_gets_its_answer_in_time_while_the_database_is_stalled(
    backend: str, db_path: Path, db_url: str
) -> None:
    openids = [f"o_{i}" for i in range(8)]
    async with running(db_path, db_url) as rig:
        if backend == "sqlite":
            with write_lock_held(db_path):
                answers = await answers_while_stalled(rig, openids)
        else:
            async with table_locked(db_url, "message"):
                answers = await answers_while_stalled(rig, openids)
        longest = max(seconds for _, seconds in answers)
        print(f"\n{backend}, database stalled: longest WeChat answer {longest:.2f} s")
        assert {status for status, _ in answers} == {503}  # not stored: WeChat retries
        assert longest < WECHAT_DEADLINE

        # the database is back: WeChat's retries are answered, each message once
        await rig.channel.drain(seconds=30)
        for openid in openids:
            response = await rig.server.post(
                rig.follower(openid).text_xml("评价", msg_id=_id(openid))
            )
            reply = rig.server.reply_content(response, openid, mode="safe")
            assert reply is None or NPS_QUESTION in reply  # passive, or it came by API
        by_api = {m["touser"] for m in rig.api.sent}
        assert len(by_api) == len(rig.api.sent)  # nobody got the question twice


async def test_telegram_gets_a_quick_503_while_the_write_lock_is_held_and_redelivery_works(
    db_path: Path, fake: FakeTelegram, served: tuple[object, httpx.AsyncClient]
) -> None:
    _, client = served
    customer = TelegramCustomer(client, fake, Updates(), chat_id=4242)
    update = customer.message("/start")
    with write_lock_held(db_path):
        started = time.perf_counter()
        response = await client.post(
            WEBHOOK, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        took = time.perf_counter() - started
    print(f"\nTelegram webhook with the write lock held: {response.status_code} after {took:.2f} s")
    assert response.status_code == 503
    assert took < 5.0
    assert fake.texts(4242) == []
    await customer.post(update)  # Telegram's redelivery, the database back
    assert len(fake.texts(4242)) == 1
