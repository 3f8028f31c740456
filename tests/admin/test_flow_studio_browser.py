"""scratch"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.admin.conftest import PASSWORD, add_user
from tests.bot.test_webchat_browser import ARGS, CHROMIUM
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/fe")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def test_explore(live_server: LiveServer, browser: Browser) -> None:
    await add_user(live_server.app, "ann", "admin")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script("""document.addEventListener('securitypolicyviolation', e => console.warn('CSP ' + e.violatedDirective + ' ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber + ' sample=' + e.sample))""")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.type + ": " + m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(f"{live_server.url}/admin/login?lang=en")
    await page.fill("#name", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/admin")
    await page.goto(f"{live_server.url}/admin/flows")
    await page.screenshot(path=str(SHOTS / "list.png"), full_page=True)
    await page.goto(f"{live_server.url}/admin/flows/nps")
    await page.evaluate("""document.addEventListener('securitypolicyviolation', e => console.warn('CSP ' + e.violatedDirective + ' ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber + ' sample=' + e.sample))""")
    await page.wait_for_timeout(2500)
    problems.append("---- after load")
    await page.screenshot(path=str(SHOTS / "editor.png"), full_page=True)
    await page.click("#sim-start")
    await page.wait_for_timeout(800)
    problems.append("---- after sim")
    await page.click("#tab-diagram")
    await page.wait_for_timeout(1500)
    await page.screenshot(path=str(SHOTS / "diagram.png"), full_page=True)
    await page.click("#tab-texts")
    await page.screenshot(path=str(SHOTS / "texts.png"), full_page=True)
    print("\n".join(p[:220] for p in problems if "Applying inline" not in p))
    await context.close()
