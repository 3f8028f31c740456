"""A handoff in real Chromium: an alert word in the web chat, the wait message, the bot
silent, and the notice that nobody picked up arriving on the open page by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from cxbot.runtime import Runtime
from cxbot.unattended import tell_unattended
from tests.bot.test_webchat_browser import browser, bubbles, type_answer
from tests.conftest import Clock, LiveServer

pytestmark = pytest.mark.browser
SCREENSHOT = Path("/tmp/webchat-handoff.png")
__all__ = ["browser"]


async def test_alert_word_wait_silence_and_the_notice_arrives_live(
    browser: Browser, live_server: LiveServer
) -> None:
    context = await browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{live_server.url}/chat/nps")
    log = page.locator("#log")
    await log.locator(".buttons button").filter(has_text="9").first.click()
    await expect(log.locator("li.msg.bot").nth(1)).to_contain_text("您最喜欢的是哪一点")
    await type_answer(page, "客服很好，就是上次退款太慢")
    await expect(log.locator("li.msg.bot").nth(3)).to_have_text(
        "客服同事正在值班，预计 15 分钟内在这里回复您。"
    )
    await expect(log.locator("li.msg.bot").nth(2)).to_have_text(
        "您反映的情况需要专人处理，我正在为您转接客服同事，同事会在这里回复您。"
    )
    await type_answer(page, "有人吗？")
    await expect(log.locator("li.msg.customer").last).to_have_text("有人吗？")

    runtime: Runtime = live_server.app.state.runtime
    runtime.service.clock = Clock(datetime.now(UTC) + timedelta(hours=2))
    assert await tell_unattended(runtime.service) == 1
    notice = log.locator("li.msg.bot").nth(4)  # the page polls: no reload
    await expect(notice).to_contain_text("很抱歉，我们的同事还没能回复您。", timeout=15_000)
    assert [a for a, _ in await bubbles(page)].count("bot") == 5  # nothing said to "有人吗？"
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    await type_answer(page, "评价")  # starting over, as the notice says
    await expect(log.locator("li.msg.bot").last).to_contain_text("您有多大可能把我们推荐给朋友")
    assert errors == []
    await context.close()
