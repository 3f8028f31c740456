"""A viewer reads the dashboard in real Chromium after the demo's interviews, filters it, and
sees figures equal to a hand count of the stored answers; charts draw without breaking the
Content-Security-Policy; an empty selection says so. Screenshots (zh/en × 1280/390 px) are
saved in /tmp/dashboard-*.png (the telling ones are copied to docs/screenshots/)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from cxbot.demo import seed
from cxbot.settings import Settings
from tests.admin.conftest import PASSWORD, add_user
from tests.bot.test_webchat_browser import ARGS, CHROMIUM
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp")


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


def hand_count(db_path: Path, channel: str | None = None) -> tuple[str, int]:
    """The NPS as the page shows it ('+12.3') and n, counted from the answer rows."""
    where = "metric = 'nps'" + (" AND channel = ?" if channel else "")
    with sqlite3.connect(db_path) as db:
        scores = [
            s
            for (s,) in db.execute(
                f"SELECT score FROM answer WHERE {where}", (channel,) if channel else ()
            )
        ]
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    return f"{100 * (promoters - detractors) / len(scores):+.1f}", len(scores)


def share_count(db_path: Path, metric: str, agreeing: int) -> str:
    """The agreeing share ('87.0%') of a metric's answers, counted from the answer rows."""
    with sqlite3.connect(db_path) as db:
        scores = [s for (s,) in db.execute("SELECT score FROM answer WHERE metric = ?", (metric,))]
    return f"{100 * sum(s >= agreeing for s in scores) / len(scores):.1f}%"


async def signed_in_page(
    browser: Browser, server: LiveServer, width: int
) -> tuple[BrowserContext, Page, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(f"{server.url}/admin/login?lang=en")
    await page.fill("#name", "vic")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server.url}/admin")
    return context, page, problems


async def test_a_viewer_reads_and_filters_the_dashboard(
    live_server: LiveServer, app_settings: Settings, db_path: Path, browser: Browser
) -> None:
    assert await seed(app_settings) == 150
    await add_user(live_server.app, "vic", "viewer")
    context, page, problems = await signed_in_page(browser, live_server, 1280)

    expected, n = hand_count(db_path)
    assert await page.text_content("#card-nps .value") == expected
    # the demo's CES runs on 1-7 (agreeing: 5-7), CSAT on 1-5 (top-2-box: 4-5)
    assert await page.text_content("#card-ces .value") == share_count(db_path, "ces", 5)
    assert await page.text_content("#card-csat .value") == share_count(db_path, "csat", 4)
    assert f"n = {n}" in (await page.text_content("#card-nps") or "")
    await page.wait_for_selector("#chart-nps svg")
    await page.hover("#chart-nps", position={"x": 300, "y": 150})  # the tooltip, under the CSP
    await page.wait_for_timeout(300)
    await page.locator("#chart-nps").screenshot(path=str(SHOTS / "dashboard-nps-trend.png"))
    legend = await page.locator("#chart-nps svg text").all_text_contents()
    assert "NPS" in legend
    distributions = await page.locator("#distribution .chart svg").count()
    assert distributions == 3  # NPS 0-10, CES 1-7, CSAT 1-5

    await page.select_option("#f-channel", "telegram")
    await page.click(".filters button[type=submit]")
    await page.wait_for_url("**channel=telegram**")
    telegram, telegram_n = hand_count(db_path, "telegram")
    assert await page.text_content("#card-nps .value") == telegram
    assert f"n = {telegram_n}" in (await page.text_content("#card-nps") or "")
    assert telegram_n < n
    rows = await page.locator("#slice-channel tbody tr").count()
    assert rows == 1

    await page.goto(f"{live_server.url}/admin?flow=no-such-survey")
    assert await page.is_visible("#empty")
    assert "No answers yet" in (await page.text_content("#empty") or "")
    assert problems == []  # no script error, no CSP violation
    await context.close()

    for width in (1280, 390):
        context, page, problems = await signed_in_page(browser, live_server, width)
        for language in ("zh", "en"):
            await page.goto(f"{live_server.url}/admin?lang={language}")
            await page.wait_for_selector("#distribution .chart svg")
            if language == "zh":
                captions = await page.locator("#distribution figcaption").all_text_contents()
                assert captions[0].startswith("净推荐值")
            await page.screenshot(
                path=str(SHOTS / f"dashboard-{language}-{width}.png"), full_page=True
            )
        assert problems == []
        await context.close()
