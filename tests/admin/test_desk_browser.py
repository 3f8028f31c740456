"""The closed loop in real Chromium: a detractor in the web chat opens a case; an agent in
another browser claims it, replies, and the reply appears in the customer's chat; the
customer answers and the agent's case page shows it live (server-sent events); a second
agent's claim is refused; the agent resolves, the customer taps the closing question and
the answer appears on the case page. No Content-Security-Policy violation, no script error.
Screenshots of the queue and a case page (zh, en; 1280 px, 390 px) for people to look at.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from admin.access import Principal
from tests.admin.conftest import add_user
from tests.admin.test_admin_browser import SIZES, sign_in
from tests.bot.test_webchat_pages_browser import (
    browser,  # noqa: F401 - the fixture
    screenshots,  # noqa: F401 - the fixture
    violations,
    watched,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

LIVE = 15_000
"""How long (ms) a live update may take: the chat polls every 2 s, the stream every 1 s."""
IDS = itertools.count(1)


async def agent_page(
    chromium: Browser, live_server: LiveServer, name: str, lang: str = "zh"
) -> tuple[BrowserContext, Page, list[str]]:
    context, page, problems = await watched(
        chromium, locale="zh-CN" if lang == "zh" else "en-US", viewport=SIZES["1280"]
    )
    await page.goto(f"{live_server.url}/admin/escalations?lang={lang}")
    await sign_in(page, f"{live_server.url}/admin/escalations?lang={lang}", name)
    return context, page, problems


async def test_the_loop_in_two_browsers(browser: Browser, live_server: LiveServer) -> None:  # noqa: F811
    await add_user(live_server.app, "bo", "agent")
    await add_user(live_server.app, "cy", "agent")
    shopper, chat, chat_problems = await watched(browser, locale="zh-CN")
    await chat.goto(f"{live_server.url}/chat/nps?lang=zh")
    log = chat.locator("#log")
    await log.locator(".buttons button").filter(has_text="2").first.click()
    await expect(log.locator("li.msg.bot")).to_have_count(2)
    await chat.locator("#input").fill("<b>快递</b>丢了，没人管")
    await chat.locator("#input").press("Enter")
    await expect(log.locator("li.msg.bot").last).to_contain_text("客服同事")

    agent, desk, desk_problems = await agent_page(browser, live_server, "bo")
    row = desk.locator("tr[data-case='1']")
    await expect(row).to_contain_text("NPS 2")
    await expect(row).to_contain_text("<b>快递</b>丢了，没人管")
    await expect(row).to_contain_text("网页聊天")
    other, late, _ = await agent_page(browser, live_server, "cy")
    await late.goto(f"{live_server.url}/admin/escalations/1")  # open before bo claims

    await row.locator("a").first.click()
    await expect(desk.locator("h1")).to_contain_text("案例 #1")
    await expect(desk.locator("#live")).to_have_text("实时更新中", timeout=LIVE)
    await desk.locator("#claim").click()
    await expect(desk.locator(".flash.notice")).to_have_text("您已认领案例 #1。")
    await late.locator("#claim").click()
    await expect(late.locator(".flash.error")).to_have_text("这个案例已被其他同事认领。")

    await desk.locator("#reply-text").fill("您好，我是客服小王，马上帮您查。")
    await desk.locator("form.reply button[type=submit]").click()
    await expect(desk.locator(".flash.notice")).to_have_text("回复已发送。")
    await expect(log.locator("li.msg.agent")).to_have_text(
        "您好，我是客服小王，马上帮您查。", timeout=LIVE
    )
    await expect(desk.locator("#live")).to_have_text("实时更新中", timeout=LIVE)
    await chat.locator("#input").fill("订单号 SF1234")
    await chat.locator("#input").press("Enter")
    transcript = desk.locator("#transcript")
    await expect(transcript.locator("li.from-customer").last).to_contain_text(
        "订单号 SF1234", timeout=LIVE
    )  # no reload: the stream brought it

    await desk.locator("#outcome").select_option("fixed")
    await desk.locator("#resolve-note").fill("已补发")
    await desk.locator("#resolve").click()
    await expect(desk.locator(".flash.notice")).to_have_text("案例 #1 已解决。")
    await expect(desk.locator("#case-closing")).to_have_text("已询问客户问题是否解决，等待回答")
    question = log.locator("li.msg.bot").last
    await expect(question).to_contain_text("您的问题解决了吗？", timeout=LIVE)
    await question.locator("button", has_text="已解决").click()
    await expect(log.locator("li.msg.bot").last).to_contain_text("太好了", timeout=LIVE)
    await expect(desk.locator("#case-closing")).to_have_text("客户回答：问题已解决", timeout=LIVE)
    await expect(chat.locator("#ended")).to_be_visible(timeout=LIVE)

    for page in (chat, desk, late):
        assert await violations(page) == []
    assert chat_problems == []
    assert [p for p in desk_problems if "409" not in p] == []
    for context in (shopper, agent, other):
        await context.close()


async def seed(live_server: LiveServer) -> None:
    """Three cases: a web chat detractor (zh) with a conversation, one in English, one
    asking for a person; an agent reply and a note on the first."""
    for lang, answers in (
        ("zh", ["2", "<b>快递</b>丢了，客服电话一直占线，等了三天还没有消息"]),
        ("en", ["4", "The app logs me out every time I pay"]),
        ("zh", ["人工"]),
    ):
        async with httpx.AsyncClient(base_url=live_server.url) as web:
            await web.get(f"/chat/nps?lang={lang}")
            body: dict[str, Any] = {"start": True, "lang": lang}
            for text in [None, *answers]:
                if text is not None:
                    body = {"text": text, "lang": lang}
                body["client_id"] = f"seed-{next(IDS):05d}"
                answer = await web.post("/chat/nps/messages", json=body)
                assert answer.status_code == 200, answer.text
    desk = live_server.app.state.desk
    bo = Principal("user", 1, "bo", "agent")
    await desk.claim(1, bo)
    await desk.reply(1, bo, "您好，我是客服小王，已经在帮您查快递。")
    await desk.add_note(1, bo, "老客户，优先补发")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_screenshots(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
    screenshots: Path,  # noqa: F811
    size: str,
    lang: str,
) -> None:
    """The queue and a case page as an agent sees them."""
    await add_user(live_server.app, "bo", "agent")
    await seed(live_server)
    context, page, problems = await watched(
        browser, locale="zh-CN" if lang == "zh" else "en-US", viewport=SIZES[size]
    )
    await page.goto(f"{live_server.url}/admin/escalations?lang={lang}")
    await sign_in(page, f"{live_server.url}/admin/escalations?lang={lang}", "bo")
    await expect(page.locator("tr[data-case]")).to_have_count(3)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"], "the queue scrolls sideways"
    await page.screenshot(path=str(screenshots / f"loop-queue-{lang}-{size}.png"), full_page=True)
    await page.goto(f"{live_server.url}/admin/escalations/1")
    await expect(page.locator("#live")).to_have_class("live muted on", timeout=LIVE)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"], "the case page scrolls sideways"
    await page.screenshot(path=str(screenshots / f"loop-case-{lang}-{size}.png"), full_page=True)
    assert await violations(page) == []
    assert problems == []
    await context.close()
