"""The customer's side of a handoff end to end: the web chat over HTTP, Telegram (the real
python-telegram-bot client against the fake Bot API) and WeChat (signed, encrypted XML in;
the customer-service API of a fake WeChat out), on the real app and database, with the
service hours of an office in Shanghai and an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from cxbot.runtime import Runtime
from cxbot.settings import Settings
from cxbot.unattended import tell_unattended
from storage.models import Escalation
from tests.bot.telegram_chat import (
    DATE,
    TelegramCustomer,
    Updates,
    running_app,
    telegram_settings,
)
from tests.bot.wechat_chat import running as running_wechat
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.backends("sqlite", "postgresql")

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = {"service_hours": "Mon-Fri 09:00-18:00", "service_timezone": "Asia/Shanghai"}
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)
_ids = iter(range(10**6))


def use_clock(app: FastAPI, clock: Clock) -> Runtime:
    """Make the app's service and delivery path read `clock`."""
    runtime: Runtime = app.state.runtime
    runtime.service.clock = clock
    runtime.delivery.clock = clock
    return runtime


async def cases(runtime: Runtime) -> list[Escalation]:
    async with runtime.service.sessions() as session:
        return list((await session.exec(select(Escalation))).all())


# --- the web chat -------------------------------------------------------------------------


@pytest.fixture
async def web(db_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        flow_reload_seconds=0,
        **OFFICE,
    )
    async with running_app(settings) as served:
        yield served


async def chat(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("client_id", f"handoff-{next(_ids):06d}")
    response = await client.post("/chat/nps/messages", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def said(data: dict[str, Any]) -> list[str]:
    return [m["text"] for m in data["messages"]]


async def test_web_chat_alert_word_on_saturday_then_nobody_picks_up(
    web: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = web
    clock = Clock(SATURDAY_NOON)
    runtime = use_clock(app, clock)
    assert (await client.get("/chat/nps", params={"lang": "zh"})).status_code == 200
    first = await chat(client, start=True, lang="zh")
    assert "您有多大可能把我们推荐给朋友或同事" in said(first)[0]

    handed = await chat(client, text="你们不退款我就去12315投诉", lang="zh")
    assert said(handed) == [
        "您反映的情况需要专人处理，我正在为您转接客服同事，同事会在这里回复您。",
        "现在是非服务时间（服务时间：周一至周五 09:00–18:00，Asia/Shanghai）。客服同事会在 "
        "周一 11月30日 09:00 上班后在这里回复您，最晚 周一 11月30日 09:15。您可以先在这里留言。",
    ]
    assert "interview-handed-off" in handed["events"]
    (case,) = await cases(runtime)
    assert (case.reason, case.priority, case.status) == ("alert-word", "urgent", "open")
    assert case.due_at == datetime(2026, 11, 30, 9, 15, tzinfo=SHANGHAI)

    quiet = await chat(client, text="有人吗？", lang="zh")
    assert quiet["messages"] == []  # the bot stays out of the way
    page = (await client.get("/chat/nps/messages")).json()
    assert page["status"] == "handed_off" and page["open"] is True
    assert [m["text"] for m in page["messages"] if m["direction"] == "in"][-1] == "有人吗？"
    last_id = page["messages"][-1]["id"]

    clock.now = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert await tell_unattended(runtime.service) == 1
    await runtime.delivery.sweep()  # the page shows stored messages; the sweep marks it sent
    polled = (await client.get("/chat/nps/messages", params={"after": last_id})).json()
    assert [m["text"][:16] for m in polled["messages"]] == ["很抱歉，我们的同事还没能回复您。"]
    assert "“评价”重新开始" in polled["messages"][0]["text"]
    assert await tell_unattended(runtime.service) == 0

    again = await chat(client, text="评价", lang="zh")
    assert "您有多大可能把我们推荐给朋友或同事" in said(again)[0]
    (case,) = await cases(runtime)
    assert case.status == "open" and case.due_at < clock()  # still open, overdue


async def test_web_chat_person_request_in_service_hours(
    web: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = web
    runtime = use_clock(app, Clock(datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)))
    await client.get("/chat/nps", params={"lang": "en"})
    await chat(client, start=True, lang="en")
    handed = await chat(client, text="I want to speak to a human", lang="en")
    assert said(handed) == [
        "Sure, I'm bringing in a person from our team. They will reply here shortly.",
        "Our team is in now: expect a reply here within 1 hour.",
    ]
    (case,) = await cases(runtime)
    assert (case.reason, case.priority) == ("customer-request", "high")


# --- Telegram -----------------------------------------------------------------------------


async def test_telegram_detractor_then_alert_then_nobody_picks_up(
    db_url: str, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # python-telegram-bot's timedelta opt-in
    fake = telegram
    async with running_app(telegram_settings(db_url, fake, **OFFICE)) as (app, client):
        monday = datetime.fromtimestamp(DATE, UTC)  # Monday 09:00 UTC = 17:00 in Shanghai
        clock = Clock(monday)
        runtime = use_clock(app, clock)
        alice = TelegramCustomer(client, fake, Updates(), chat_id=8101, language="en")
        await alice.says("/start")
        await alice.taps("2")
        assert alice.last() == "Sorry we let you down. What went wrong?"
        await alice.says("You charged me twice. Cancel my account, or my lawyer calls you.")
        assert fake.texts(alice.chat_id)[-2:] == [
            "This needs a person from our team: I'm passing your conversation to a "
            "colleague, who will reply here.",
            "Our team is in now: expect a reply here within 1 hour.",
        ]
        (case,) = await cases(runtime)
        # the detractor rule opened the case with the score; the alert handed off at once
        assert (case.reason, case.priority) == ("detractor", "high")
        assert case.due_at == monday + timedelta(hours=1)  # 18:00 in Shanghai, closing time

        sent = len(fake.sent(alice.chat_id))
        await alice.says("hello??")
        await alice.says("/start")  # an agent has the customer: /start does not restart yet
        assert len(fake.sent(alice.chat_id)) == sent

        clock.now = datetime(2026, 3, 3, 9, 30, tzinfo=SHANGHAI).astimezone(UTC)
        assert await tell_unattended(runtime.service) == 1
        assert await runtime.delivery.sweep() == 1
        assert alice.last() == (
            "We're sorry: nobody from our team has been able to reply yet. Your request is "
            "still in the queue and a colleague will answer here as soon as they can. You can "
            "also reply “/start” to start again."
        )
        await alice.says("/start")
        assert alice.last().startswith("Hi! How likely are you to recommend us")
        (case,) = await cases(runtime)
        assert case.status == "open" and case.unattended_told_at is not None


# --- WeChat -------------------------------------------------------------------------------


async def test_wechat_alert_word_then_the_notice_through_the_customer_service_api(
    db_path: Path, db_url: str
) -> None:
    async with running_wechat(db_path, db_url) as rig:
        customer = rig.follower("o_handoff_alert")
        assert (await customer.says("评价") or "").startswith("您好！您有多大可能")
        handed = await customer.says("再不给我退款我就打12315")
        assert handed == (
            "您反映的情况需要专人处理，我正在为您转接客服同事，同事会在这里回复您。\n\n"
            "客服同事正在值班，预计 15 分钟内在这里回复您。"
        )
        assert await customer.says("人呢？") is None  # silent: stored for the agent

        runtime: Runtime = rig.app.state.runtime
        later = Clock(datetime.now(UTC) + timedelta(hours=2))  # well inside WeChat's 48 h
        runtime.service.clock = runtime.delivery.clock = later
        assert await tell_unattended(runtime.service) == 1
        assert await runtime.delivery.sweep() == 1
        (notice,) = rig.api.sent
        assert notice["touser"] == "o_handoff_alert"
        assert notice["text"]["content"].startswith("很抱歉，我们的同事还没能回复您。")
        assert "“评价”重新开始" in notice["text"]["content"]

        again = await customer.says("评价")
        assert (again or "").startswith("您好！您有多大可能")
        (case,) = await cases(runtime)
        assert (case.reason, case.status) == ("alert-word", "open")
