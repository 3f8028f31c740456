"""An agent in real Chromium: opens the conversation list, searches 物流, opens a transcript,
downloads the CSV; in Chinese and English, at laptop and phone widths.

With CXBOT_SCREENSHOTS=1 the screenshots go to docs/screenshots/ (else to the test's folder).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, expect

from storage.database import Sessions
from tests.admin.transcript_app import transcript_app
from tests.admin.transcript_data import T0, Interview, store
from tests.bot.test_webchat_browser import browser  # noqa: F401 - the Chromium fixture
from tests.conftest import free_port

pytestmark = pytest.mark.browser

DOCS = Path(__file__).parent.parent.parent / "docs" / "screenshots"
SIZES = {"laptop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
SAMPLES = [
    Interview(
        score=2,
        said=["你好"],
        comment="物流太慢了，等了一个星期才到，包装也破了",
        escalated=True,
        status="handed_off",
    ),
    Interview(score=9, comment="客服态度很好，物流也快", channel="wechat"),
    Interview(
        score=4,
        comment="The delivery was late and nobody answered my emails",
        language="en",
        channel="telegram",
    ),
    Interview(score=10, comment="Great service, 物流 super fast!", language="en"),
    Interview(flow="csat", metric="csat", score=2, comment="<script>alert(1)</script> 退款太慢"),
    Interview(score=7, comment="还可以", status="abandoned"),
]


@pytest.fixture
async def served(sessions: Sessions) -> AsyncIterator[str]:
    for number, sample in enumerate(SAMPLES):
        sample.started_at = T0 + timedelta(hours=number)
        await store(sessions, sample, number=number)
    port = free_port()
    config = uvicorn.Config(
        transcript_app(sessions), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


def shot_path(tmp_path: Path, name: str) -> Path:
    return (DOCS if os.environ.get("CXBOT_SCREENSHOTS") else tmp_path) / f"transcripts-{name}.png"


async def search_open_and_download(page: Page, base: str, tmp_path: Path, label: str) -> None:
    await page.goto(f"{base}/admin/conversations")
    rows = page.locator("table.conversations tbody tr")
    await expect(rows).to_have_count(len(SAMPLES))
    await page.locator("#q").fill("物流")
    await page.locator("#q").press("Enter")
    await expect(rows).to_have_count(3)
    await expect(page.locator("td.snippet mark").first).to_have_text("物流")
    await page.screenshot(path=shot_path(tmp_path, f"list-{label}"), full_page=True)
    async with page.expect_download() as info:
        await page.locator("#download-csv").click()
    download = await info.value
    saved = tmp_path / f"{label}.csv"
    await download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfanswer_id,")
    assert "物流太慢了".encode() in data and "还可以".encode() not in data
    await rows.last.locator("a.open").click()  # the oldest: escalated, handed off
    await expect(page.locator(".line.customer").first).to_be_visible()
    await expect(page.locator(".line.customer .text").last).to_contain_text("物流")
    await page.screenshot(path=shot_path(tmp_path, f"detail-{label}"), full_page=True)


@pytest.mark.parametrize("size", ["laptop", "phone"])
@pytest.mark.parametrize("language", ["zh", "en"])
async def test_an_agent_searches_opens_and_downloads(
    browser: Browser,  # noqa: F811
    served: str,
    tmp_path: Path,
    language: str,
    size: str,
) -> None:
    context = await browser.new_context(
        locale="zh-CN" if language == "zh" else "en-US",
        viewport=SIZES[size],  # type: ignore[arg-type]
        accept_downloads=True,
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    await search_open_and_download(page, served, tmp_path, f"{language}-{size}")
    # the filters: NPS detractors only (scores 2 and 4), kept in the CSV link
    await page.goto(f"{served}/admin/conversations")
    await page.locator("details summary").click()
    await page.locator("#band").select_option("detractor")
    await page.locator("details button[type=submit]").click()
    await expect(page.locator("table.conversations tbody tr")).to_have_count(2)
    assert "band=detractor" in (await page.locator("#download-csv").get_attribute("href") or "")
    await page.screenshot(path=shot_path(tmp_path, f"filters-{language}-{size}"), full_page=True)
    # the customer's <script> is text, never run
    await page.goto(f"{served}/admin/conversations?q=退款")
    await expect(page.locator("td.snippet")).to_contain_text("<script>alert(1)</script>")
    await page.locator("a.open").first.click()
    await expect(page.locator(".line.customer .text").last).to_contain_text("<script>")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"], "the page scrolls sideways"
    assert errors == []
    await context.close()
