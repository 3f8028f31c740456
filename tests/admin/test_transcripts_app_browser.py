"""The transcripts in the real app, in real Chromium: interviews run through the real
service, an agent signs in, finds 物流 from the nav, opens the transcript, downloads the CSV
with their session; a viewer is refused; no Content-Security-Policy violation."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from cxbot.conversations import ConversationService
from tests.admin.conftest import add_user
from tests.admin.test_admin_browser import sign_in
from tests.bot.test_webchat_pages_browser import (
    browser,  # noqa: F401 - the fixture
    violations,
    watched,
)
from tests.conftest import Customer, LiveServer

pytestmark = pytest.mark.browser


async def interviews(service: ConversationService) -> None:
    """Three customers answer the shipped NPS interview."""
    for ref, score, reason in (
        ("u1", "3", "物流太慢了，包装也破了"),
        ("u2", "10", "客服态度很好"),
        ("u3", "6", "<script>alert(1)</script> the delivery was late"),
    ):
        customer = Customer(service, ref, channel="web")
        await customer.starts("nps", language="zh")
        await customer.says(score)
        await customer.says(reason)


async def test_an_agent_finds_a_customers_words_in_the_real_app(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
) -> None:
    await interviews(live_server.app.state.runtime.service)
    await add_user(live_server.app, "王小明", "agent")
    await add_user(live_server.app, "viewer", "viewer")
    context, page, problems = await watched(
        browser, locale="zh-CN", viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    await page.goto(f"{live_server.url}/admin/conversations")
    await sign_in(page, f"{live_server.url}/admin/conversations", name="王小明")
    rows = page.locator("table.conversations tbody tr")
    await expect(rows).to_have_count(3)
    await page.locator("#q").fill("物流")
    await page.locator("#q").press("Enter")
    await expect(rows).to_have_count(1)
    await expect(rows.locator("mark")).to_have_text("物流")
    async with page.expect_download() as info:
        await page.locator("#download-csv").click()
    path = await (await info.value).path()
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfanswer_id,")
    assert "物流太慢了".encode() in data and "客服态度很好".encode() not in data
    await rows.locator("a.open").click()
    await expect(page.locator(".line.customer .text").last).to_have_text("物流太慢了，包装也破了")
    await expect(page.locator(".score.low")).to_have_text("NPS 3")
    await page.goto(f"{live_server.url}/admin/conversations?q=script")
    await expect(page.locator("td.snippet")).to_contain_text("<script>alert(1)</script>")
    assert await violations(page) == []
    assert problems == []
    await context.close()

    context, page, problems = await watched(browser, locale="en-US")
    await page.goto(f"{live_server.url}/admin/conversations")
    await sign_in(page, f"{live_server.url}/admin/conversations", name="viewer")
    await expect(page.locator("h1")).to_have_text("Not allowed")
    api = await page.evaluate("fetch('/api/v1/conversations').then(r => r.status)")
    assert api == 403
    await context.close()
