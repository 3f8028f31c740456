"""A handoff in real Chromium: an alert word in the web chat, the wait message, the bot
silent, and the notice that nobody picked up arriving on the open page by itself (the page
polls). Screenshots: docs/screenshots/loop-handoff-webchat-{zh,en}-390.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from cxbot.runtime import Runtime
from cxbot.unattended import tell_unattended
from tests.bot.test_webchat_browser import browser, bubbles, type_answer
from tests.bot.test_webchat_pages_browser import screenshots
from tests.conftest import Clock, LiveServer

pytestmark = pytest.mark.browser
__all__ = ["browser", "screenshots"]

SAYS = {
    "zh": {
        "liked": "您最喜欢的是哪一点",
        "answer": "客服很好，就是上次退款太慢",
        "alert": "您反映的情况需要专人处理，我正在为您转接客服同事，同事会在这里回复您。",
        "wait": "客服同事正在值班，预计 15 分钟内在这里回复您。",
        "anyone": "有人吗？",
        "notice": "很抱歉，我们的同事还没能回复您。",
        "again": "评价",
        "question": "您有多大可能把我们推荐给朋友",
    },
    "en": {
        "liked": "What did you like most?",
        "answer": "Friendly staff, but my refund took a month",
        "alert": "This needs a person from our team: I'm passing your conversation to a "
        "colleague, who will reply here.",
        "wait": "Our team is in now: expect a reply here within 15 minutes.",
        "anyone": "Anyone there?",
        "notice": "We're sorry: nobody from our team has been able to reply yet.",
        "again": "feedback",
        "question": "How likely are you to recommend us",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_alert_word_wait_silence_and_the_notice_arrives_live(
    browser: Browser, live_server: LiveServer, screenshots: Path, lang: str
) -> None:
    says = SAYS[lang]
    context = await browser.new_context(
        locale="zh-CN" if lang == "zh" else "en-GB", viewport={"width": 390, "height": 844}
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{live_server.url}/chat/nps?lang={lang}")
    log = page.locator("#log")
    await log.locator(".buttons button").filter(has_text="9").first.click()
    await expect(log.locator("li.msg.bot").nth(1)).to_contain_text(says["liked"])
    await type_answer(page, says["answer"])
    await expect(log.locator("li.msg.bot").nth(2)).to_have_text(says["alert"])
    await expect(log.locator("li.msg.bot").nth(3)).to_have_text(says["wait"])
    await type_answer(page, says["anyone"])
    await expect(log.locator("li.msg.customer").last).to_have_text(says["anyone"])

    runtime: Runtime = live_server.app.state.runtime
    runtime.service.clock = Clock(datetime.now(UTC) + timedelta(hours=2))
    assert await tell_unattended(runtime.service) == 1
    notice = log.locator("li.msg.bot").nth(4)  # no reload: the page polls for new messages
    await expect(notice).to_contain_text(says["notice"], timeout=15_000)
    assert [a for a, _ in await bubbles(page)].count("bot") == 5  # nothing said to "anyone?"
    await page.screenshot(
        path=str(screenshots / f"loop-handoff-webchat-{lang}-390.png"), full_page=True
    )

    await type_answer(page, says["again"])  # starting over, as the notice says
    await expect(log.locator("li.msg.bot").last).to_contain_text(says["question"])
    assert errors == []
    await context.close()
