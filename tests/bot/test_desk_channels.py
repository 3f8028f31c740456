"""The closed loop end to end on Telegram and WeChat (against their fake servers on
127.0.0.1): a detractor opens a case, an agent claims it and replies through the
escalations API, the customer's chat receives the reply, the customer answers, the agent
sees it, resolves, and the closing question is asked and answered in the chat. Also a reply
outside WeChat's 48-hour window, shown as failed with the reason.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from admin import tokens
from tests.admin.conftest import Visitor, add_user
from tests.bot.telegram_chat import TelegramCustomer, Updates, rows
from tests.bot.wechat_chat import running
from tests.conftest import START, Clock
from tests.fakes.telegram_api import FakeTelegram


async def agent_token(app: FastAPI) -> dict[str, str]:
    created = await tokens.create(
        app.state.admin_auth.writer, name="helpdesk", role="agent", now=START, created_by=None
    )
    return {"Authorization": f"Bearer {created.secret}"}


async def api(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, body: Any = None
) -> Any:
    """POST (with a body) or GET an escalations API path; the JSON answer."""
    url = f"/api/v1/escalations{path}"
    response = (
        await client.get(url, headers=headers)
        if body is None
        else await client.post(url, headers=headers, json=body)
    )
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


async def test_the_loop_on_telegram(
    served: tuple[FastAPI, httpx.AsyncClient], fake: FakeTelegram, db_path: Path
) -> None:
    app, client = served
    alice = TelegramCustomer(client, fake, Updates(), chat_id=4242, language="en")
    await alice.says("/start nps")
    await alice.taps("3")
    await alice.says("Two weeks late and nobody answered my emails")
    headers = await agent_token(app)
    [case] = (await api(client, headers, ""))["escalations"]
    assert (case["channel"], case["score"], case["status"]) == ("telegram", "NPS 3", "open")
    assert (await api(client, headers, "/1/claim", {}))["status"] == "assigned"
    sent = await api(client, headers, "/1/reply", {"text": "Hi, I'm Sam from support. Sorry!"})
    assert sent["state"] == "sent"
    assert alice.last() == "Hi, I'm Sam from support. Sorry!"
    quiet = len(fake.texts(alice.chat_id))
    await alice.says("Order 123, still not here")
    assert len(fake.texts(alice.chat_id)) == quiet  # the bot stays out of the way
    transcript = (await api(client, headers, "/1"))["transcript"]
    assert transcript[-1]["text"] == "Order 123, still not here"
    assert transcript[-1]["direction"] == "in"
    await api(client, headers, "/1/resolve", {"outcome": "fixed", "note": "reshipped"})
    question = fake.sent(alice.chat_id)[-1].params
    assert question["text"] == "Was your issue resolved?"
    labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Yes", "No"]
    await alice.taps("Yes")
    assert alice.last().startswith("Glad to hear it.")
    assert rows(db_path, "SELECT status, outcome, closing_answer FROM escalation") == [
        ("resolved", "fixed", "yes")
    ]
    assert rows(db_path, "SELECT status FROM conversation") == [("completed",)]
    [(first_reply,)] = rows(db_path, "SELECT first_reply_at FROM escalation")
    assert first_reply is not None
    answered = len(fake.texts(alice.chat_id))
    await alice.says("/start nps")  # the bot talks again: the conversation is over
    assert len(fake.texts(alice.chat_id)) > answered


async def test_the_loop_on_wechat(db_path: Path, db_url: str) -> None:
    async with running(db_path, db_url) as rig:
        customer = rig.follower("o_loop")
        await customer.says("评价")
        await customer.says("2")
        passive = await customer.says("快递员态度很差")
        assert passive is not None and "客服同事" in passive
        headers = await agent_token(rig.app)
        client = rig.client
        [case] = (await api(client, headers, "?channel=wechat"))["escalations"]
        assert case["language"] == "zh" and case["score"] == "NPS 2"
        detail = await api(client, headers, "/1")
        assert detail["status"] == "open"
        await api(client, headers, "/1/claim", {})
        sent = await api(client, headers, "/1/reply", {"text": "您好，我是客服小王，非常抱歉。"})
        assert sent["state"] == "sent"
        assert rig.api.sent[-1]["text"] == {"content": "您好，我是客服小王，非常抱歉。"}
        assert await customer.says("单号 SF123") in (None, "")  # no bot answer: the agent has it
        transcript = (await api(client, headers, "/1"))["transcript"]
        assert transcript[-1]["text"] == "单号 SF123"
        await api(client, headers, "/1/resolve", {"outcome": "compensation", "note": "补偿券"})
        question = rig.api.sent[-1]["text"]["content"]
        assert question == "您的问题解决了吗？\n请回复 1（已解决）或 2（未解决）"
        thanks = await customer.says("2")
        answered = thanks or rig.api.sent[-1]["text"]["content"]
        assert answered.startswith("抱歉没能解决")
        assert rig.rows("SELECT status, outcome, closing_answer FROM escalation") == [
            ("resolved", "compensation", "no")
        ]


async def test_a_wechat_reply_outside_the_48_hour_window_fails_with_the_reason(
    db_path: Path, db_url: str
) -> None:
    async with running(db_path, db_url) as rig:
        service = rig.app.state.runtime.service
        real_clock = service.clock
        service.clock = Clock(datetime.now(UTC) - timedelta(hours=49))
        customer = rig.follower("o_late")
        for text in ("评价", "1", "太慢"):
            await customer.says(text)
        service.clock = real_clock
        headers = await agent_token(rig.app)
        page = await api(rig.client, headers, "/1")
        assert page["status"] == "open"
        desk = rig.app.state.desk
        limits = (await desk.case(1)).limits
        assert limits.refusal == "desk.limit.window_passed" and limits.window_hours == 48
        sent = await api(rig.client, headers, "/1/reply", {"text": "您好？"})
        assert sent["state"] == "failed"
        assert sent["error"].startswith("refused: outside the 48-hour window")
        last = (await api(rig.client, headers, "/1"))["transcript"][-1]
        assert (last["text"], last["state"]) == ("您好？", "failed")
        assert last["error"].startswith("refused: outside the 48-hour window")
        assert (await desk.case(1)).card.first_reply_at is None
        assert rig.api.sent == []
        await add_user(rig.app, "bo", "agent")
        agent = Visitor(rig.app)
        assert (await agent.sign_in("bo")).status_code == 303
        page = await agent.get("/admin/escalations/1?lang=en")
        failed = re.search(
            r'<li class="msg from-agent state-failed"[^>]*>(.*?)</li>', page.text, re.S
        )
        assert failed is not None and "您好？" in failed[1]
        assert "Not delivered: refused: outside the 48-hour window" in failed[1]
        assert "The 48-hour reply window has passed" in page.text  # said before sending
        await agent.close()


async def test_a_telegram_user_who_blocked_the_bot_shows_as_a_failed_reply(
    served: tuple[FastAPI, httpx.AsyncClient], fake: FakeTelegram
) -> None:
    app, client = served
    wei = TelegramCustomer(client, fake, Updates(), chat_id=777, name="Wei", language="zh")
    await wei.says("/start nps")
    await wei.taps("1")
    await wei.says("人工")
    headers = await agent_token(app)
    fake.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    sent = await api(client, headers, "/1/reply", {"text": "您好，我们看到了您的反馈。"})
    assert sent["state"] == "failed"
    assert "blocked by the user" in sent["error"]
    last = (await api(client, headers, "/1"))["transcript"][-1]
    assert (last["author"], last["state"]) == ("agent", "failed")
    assert "blocked by the user" in last["error"]
    [case] = (await api(client, headers, ""))["escalations"]
    assert case["first_reply_at"] is None and case["status"] == "assigned"
