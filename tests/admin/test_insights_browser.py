"""In real Chromium after the demo's interviews were analyzed offline: an admin reads the
insights page (themes, digest, sentiment, the model's use), clicks a theme for the answers
behind it; an agent sees the model's summary on the queue and the case page. No script error
or CSP violation. Screenshots (zh/en × 1280/390 px) in /tmp/insights-*.png; the telling ones
are copied to docs/screenshots/."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from cxbot.demo import seed
from cxbot.settings import Settings
from storage import analysis
from storage.analysis_tables import EscalationSummary
from tests.admin.conftest import PASSWORD, add_user
from tests.bot.test_webchat_browser import ARGS, CHROMIUM
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp")
SUMMARY = "CES 6：客户认为问题没有解决，处理过程繁琐。\n希望客服尽快联系并给出解决办法。"


@pytest.fixture
def app_settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        flow_reload_seconds=0,
        flows_dir=tmp_path / "flows",
        analysis_in_app=False,
    )


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


async def test_an_admin_reads_insights_and_an_agent_the_model_summary(
    live_server: LiveServer, app_settings: Settings, db_path: Path, browser: Browser
) -> None:
    await seed(app_settings)
    app = live_server.app
    worker = app.state.intelligence.worker
    await worker.scan()
    while (await worker.work(limit=100)).done:
        pass
    with sqlite3.connect(db_path) as db:
        analyzed = db.execute("SELECT COUNT(*) FROM answer_analysis").fetchone()[0]
        [case_id] = db.execute("SELECT MIN(id) FROM escalation").fetchone()
    assert analyzed > 0
    async with app.state.runtime.service.writer.transaction() as session:
        await analysis.save_summary(
            session=session,
            summary=EscalationSummary(
                escalation_id=case_id,
                text=SUMMARY,
                source="model",
                model="fake-model",
                prompt_version="test",
                created_at=datetime.now(UTC),
            ),
        )
    await add_user(app, "ada", "admin")
    problems: list[str] = []
    for width in (1280, 390):
        context = await browser.new_context(viewport={"width": width, "height": 900})
        page = await context.new_page()
        page.on(
            "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        await page.goto(f"{live_server.url}/admin/login?lang=en")
        await page.fill("#name", "ada")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{live_server.url}/admin")
        for language in ("zh", "en"):
            await page.goto(f"{live_server.url}/admin/insights?lang={language}&from=2000-01-01")
            await page.goto(f"{live_server.url}/admin/insights?lang={language}")
            assert await page.locator("#themes tr[data-theme]").count() >= 3
            assert await page.locator("#digest .digest-entry").count() >= 1
            assert await page.is_visible("#model-usage")
            await page.screenshot(
                path=str(SHOTS / f"insights-{language}-{width}.png"), full_page=True
            )
        first = page.locator("#themes tr[data-theme] a").first
        label = (await first.text_content() or "").strip()
        await first.click()
        await page.wait_for_url("**/admin/insights/themes/**")
        assert label in (await page.text_content("h1") or "")
        assert await page.locator("tr[data-answer]").count() >= 1
        if width == 390:
            await page.screenshot(path=str(SHOTS / "insights-theme-en-390.png"), full_page=True)
        for language in ("zh", "en"):
            await page.goto(f"{live_server.url}/admin/escalations/{case_id}?lang={language}")
            text = await page.text_content("#model-summary") or ""
            assert "处理过程繁琐" in text
            assert await page.is_visible("#extract")
            await page.screenshot(
                path=str(SHOTS / f"insights-case-summary-{language}-{width}.png"), full_page=False
            )
        await page.goto(f"{live_server.url}/admin/escalations?lang=en")
        assert await page.locator("td.model-summary").count() >= 1
        assert problems == []
        await context.close()
