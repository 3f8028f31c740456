"""A person takes the shipped NPS interview in real Chromium, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path("/tmp/webchat.png")
ENDED_SCREENSHOT = Path("/tmp/webchat-ended.png")
QUIET_SCREENSHOT = Path("/tmp/webchat-quiet-period.png")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


def query(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


async def bubbles(page: Page) -> list[tuple[str, str]]:
    """(author, text) of every bubble in the log, as the person sees them."""
    items = page.locator("#log li.msg")
    result = []
    for index in range(await items.count()):
        item = items.nth(index)
        classes = (await item.get_attribute("class") or "").split()
        author = next(c for c in classes if c != "msg")
        result.append((author, await item.locator(".bubble").inner_text()))
    return result


async def type_answer(page: Page, text: str) -> None:
    await page.locator("#input").fill(text)
    await page.locator("#send").click()


async def test_chinese_interview_tap_a_score_and_type_a_reason(
    browser: Browser, live_server: LiveServer, db_path: Path
) -> None:
    context = await browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{live_server.url}/chat/nps")
    assert await page.title() == "推荐意愿调查"

    log = page.locator("#log")
    await expect(log.locator("li.msg.bot").first).to_contain_text(
        "您有多大可能把我们推荐给朋友或同事"
    )
    score_buttons = log.locator(".buttons button")
    await expect(score_buttons).to_have_count(11)
    await score_buttons.filter(has_text="3").first.click()
    await expect(log.locator("li.msg.bot").nth(1)).to_have_text(
        "很抱歉让您失望了。最让您不满意的是什么？"
    )
    for index in range(11):
        await expect(score_buttons.nth(index)).to_be_disabled()

    await type_answer(page, "配送太慢了 <b>x</b>")
    await expect(log.locator("li.msg.bot").nth(2)).to_contain_text("客服同事会尽快在这里联系您")
    assert await bubbles(page) == [
        ("bot", "您好！您有多大可能把我们推荐给朋友或同事？\n0 = 完全不可能 · 10 = 非常可能"),
        ("customer", "3"),
        ("bot", "很抱歉让您失望了。最让您不满意的是什么？"),
        ("customer", "配送太慢了 <b>x</b>"),
        ("bot", "谢谢您告诉我们。客服同事会尽快在这里联系您，把问题解决好。"),
        ("bot", "客服同事正在值班，预计 1 小时内在这里回复您。"),
    ]
    assert await log.locator("b").count() == 0  # the customer's markup is text, not HTML
    assert await page.locator("#input").input_value() == ""
    await page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert errors == []
    await context.close()

    assert query(db_path, "SELECT variable, score, text, language, channel FROM answer") == [
        ("score", 3, None, "zh", "web"),
        ("reason", None, "配送太慢了 <b>x</b>", "zh", "web"),
    ]
    transcript = query(db_path, "SELECT direction, author, text FROM message ORDER BY id")
    assert [(d, a) for d, a, _ in transcript] == [("in", "customer"), ("out", "bot")] * 3 + [
        ("out", "bot")  # the wait message after the handoff text
    ]
    assert transcript[4][2] == "配送太慢了 <b>x</b>"
    assert query(db_path, "SELECT reason, priority, status FROM escalation") == [
        ("detractor", "high", "open")
    ]
    assert query(
        db_path, "SELECT DISTINCT delivery_state FROM message WHERE direction = 'out'"
    ) == [("sent",)]


async def test_english_interview_and_reload_keeps_the_chat(
    browser: Browser, live_server: LiveServer, db_path: Path
) -> None:
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await page.goto(f"{live_server.url}/chat/nps?lang=en")
    assert await page.title() == "Would you recommend us?"
    log = page.locator("#log")
    await expect(log.locator("li.msg.bot").first).to_contain_text(
        "How likely are you to recommend us to a friend or colleague?"
    )
    await expect(page.locator("#send")).to_have_text("Send")

    await log.locator(".buttons button", has_text="10").click()
    await expect(log.locator("li.msg.bot").nth(1)).to_contain_text("What did you like most?")
    await expect(log.locator(".buttons button").first).to_be_disabled()

    # reload mid-interview: the page shows the conversation so far, not a new one
    await page.reload()
    await expect(log.locator("li.msg")).to_have_count(3)
    assert [author for author, _ in await bubbles(page)] == ["bot", "customer", "bot"]
    assert (await bubbles(page))[1] == ("customer", "10")
    await expect(log.locator(".buttons button").first).to_be_disabled()
    await type_answer(page, "The <b>x</b> team was great")
    await expect(log.locator("li.msg.bot").nth(2)).to_have_text(
        "Thank you for your feedback. Have a great day!"
    )
    authors = [author for author, _ in await bubbles(page)]
    assert authors == ["bot", "customer", "bot", "customer", "bot", "system"]  # + the ended note
    customer_text = log.locator("li.msg.customer .bubble").nth(1)
    assert await customer_text.inner_text() == "The <b>x</b> team was great"
    assert await customer_text.inner_html() == "The &lt;b&gt;x&lt;/b&gt; team was great"
    await context.close()

    assert query(db_path, "SELECT score, text, language FROM answer") == [
        (10, None, "en"),
        (None, "The <b>x</b> team was great", "en"),
    ]
    assert query(db_path, "SELECT status, language FROM conversation") == [("completed", "en")]
    assert query(db_path, "SELECT count(*) FROM message") == [(6,)]


async def test_typing_the_score_also_retires_the_buttons(
    browser: Browser, live_server: LiveServer, db_path: Path
) -> None:
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{live_server.url}/chat/nps")
    log = page.locator("#log")
    await expect(log.locator(".buttons button")).to_have_count(11)
    await type_answer(page, "八分")
    await expect(log.locator("li.msg.bot").nth(1)).to_contain_text("您会打更高分")
    for index in range(11):
        await expect(log.locator(".buttons button").nth(index)).to_be_disabled()
    await context.close()
    assert query(db_path, "SELECT score FROM answer") == [(8,)]


async def test_the_end_is_shown_and_a_reload_does_not_start_again(
    browser: Browser, live_server: LiveServer, db_path: Path
) -> None:
    context = await browser.new_context(locale="en-US", viewport={"width": 420, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{live_server.url}/chat/nps?lang=en")
    log = page.locator("#log")
    await log.locator(".buttons button").filter(has_text="9").first.click()
    await expect(log.locator("li.msg.bot").nth(1)).to_contain_text("What did you like most?")
    await expect(page.locator("#ended")).to_have_count(0)
    await type_answer(page, "skip")

    ended = page.locator("#ended")
    await expect(ended).to_have_text("This survey has ended. Start again")
    link = ended.locator("a.restart")
    assert await link.get_attribute("href") == "/chat/nps?lang=en&restart=1"
    await expect(page.locator("#input")).to_be_disabled()
    await expect(page.locator("#send")).to_be_disabled()
    await page.screenshot(path=str(ENDED_SCREENSHOT), full_page=True)
    shown = await bubbles(page)

    await page.reload()  # the history, the end and the link; no new survey
    await expect(page.locator("#ended")).to_have_text("This survey has ended. Start again")
    assert await bubbles(page) == shown
    await expect(page.locator("#input")).to_be_disabled()
    await expect(log.locator(".buttons button").first).to_be_disabled()
    await page.wait_for_timeout(300)
    assert query(db_path, "SELECT status FROM conversation") == [("completed",)]

    await page.locator("#ended a.restart").click()  # start again, on purpose ...
    # ... but one browser answers a survey once per quiet period (30 days for nps)
    await expect(log.locator("li.msg.bot")).to_have_count(1)
    await expect(log.locator("li.msg.bot")).to_contain_text("You took")
    await expect(log.locator(".buttons button")).to_have_count(0)
    await expect(page.locator("#ended")).to_have_text("This survey has ended.")
    await expect(page.locator("#input")).to_be_disabled()
    await page.screenshot(path=str(QUIET_SCREENSHOT), full_page=True)
    assert "restart" not in page.url
    assert query(db_path, "SELECT status FROM conversation") == [("completed",)]
    assert errors == []
    await context.close()


async def test_after_a_handoff_the_visitor_keeps_talking_and_can_restart(
    browser: Browser, live_server: LiveServer, db_path: Path
) -> None:
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{live_server.url}/chat/nps")
    log = page.locator("#log")
    await log.locator(".buttons button").filter(has_text="1").first.click()
    await expect(log.locator("li.msg.bot").nth(1)).to_contain_text("最让您不满意的是什么")
    await type_answer(page, "客服没回消息")
    await expect(log.locator("li.msg.bot").nth(2)).to_contain_text("客服同事会尽快在这里联系您")
    await expect(page.locator("#ended")).to_have_count(0)
    await expect(page.locator("#input")).to_be_enabled()
    await type_answer(page, "还在吗？")  # goes to the agent
    await expect(log.locator("li.msg.customer").nth(2)).to_have_text("还在吗？")
    await page.reload()  # still with the agent: no new survey
    await expect(log.locator("li.msg.customer")).to_have_count(3)
    await expect(page.locator("#input")).to_be_enabled()

    # another flow's page: the history and a note, not a blank page
    await page.goto(f"{live_server.url}/chat/ces")
    await expect(page.locator("#handed-off")).to_have_text(
        "客服同事正在跟进您的对话，会在这里回复您。"
    )
    authors = [author for author, _ in await bubbles(page)]
    assert authors == ["bot", "customer"] * 2 + ["bot", "bot", "customer", "system"]
    await expect(page.locator("#input")).to_be_enabled()
    await page.wait_for_timeout(300)
    assert query(db_path, "SELECT flow_id, status FROM conversation") == [("nps", "handed_off")]

    await page.goto(f"{live_server.url}/chat/nps?restart=1")  # an explicit start again
    await expect(log.locator("li.msg.bot")).to_have_count(1)
    await expect(log.locator("li.msg.bot")).to_contain_text("您有多大可能把我们推荐给朋友或同事")
    assert errors == []
    await context.close()
    assert query(db_path, "SELECT flow_id, status FROM conversation ORDER BY id") == [
        ("nps", "abandoned"),
        ("nps", "active"),
    ]
