"""In real Chromium: an admin follows the insights page's link to the theme words, adds a
word to a theme and sees it saved (the notice, the word among the theme's words, the row in
the database), makes a theme with a bad key and reads the reason next to the field, then
removes the word. No script error or CSP violation. Screenshots (zh/en × 1280/390 px) in
/tmp/themes-*.png; the telling ones are copied to docs/screenshots/."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from playwright.async_api import Browser

from cxbot.settings import Settings
from tests.admin.conftest import PASSWORD, add_user
from tests.admin.test_insights_browser import app_settings, browser, pytestmark
from tests.conftest import LiveServer

__all__ = ["app_settings", "browser", "pytestmark"]
SHOTS = Path("/tmp")


async def test_an_admin_adds_a_word_to_a_theme(
    live_server: LiveServer, app_settings: Settings, db_path: Path, browser: Browser
) -> None:
    await add_user(live_server.app, "ada", "admin")
    problems: list[str] = []
    for width, word in ((1280, "warranty"), (390, "保修卡")):
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
        await page.goto(f"{live_server.url}/admin/insights?lang=en")
        await page.click("#theme-words")
        await page.wait_for_url("**/admin/insights/themes")
        for language in ("zh", "en"):
            await page.goto(f"{live_server.url}/admin/insights/themes?lang={language}")
            assert "--redo" in (await page.text_content("#redo") or "")
            await page.screenshot(path=str(SHOTS / f"themes-top-{language}-{width}.png"))
            card = page.locator("#theme-resolution")
            await card.locator("input[name=words]").fill(word)
            await card.locator("form.add-words button[type=submit]").click()
            await page.wait_for_load_state()
            assert word in (await page.text_content("p.flash.notice") or "")
            chip = page.locator(f'#theme-resolution li[data-word="{word}"]')
            assert await chip.count() == 1
            assert await page.evaluate("window.scrollY") > 0  # back at the theme's card
            assert await page.locator("p.flash.notice").is_visible()  # sticky over it
            await page.screenshot(path=str(SHOTS / f"themes-{language}-{width}.png"))
            with sqlite3.connect(db_path) as db:
                rows = db.execute("SELECT key, word FROM theme_word").fetchall()
            assert rows == [("resolution", word)]
            # a bad key: the reason next to the field, the rest of the form kept
            await page.fill("#new-key", "Warranty")
            await page.fill("#new-label_zh", "保修")
            await page.fill("#new-label_en", "Warranty")
            await page.fill("#new-words", "保修")
            await page.click("#new button[type=submit]")
            await page.wait_for_load_state()
            error = page.locator("#new-key-error")
            assert await error.is_visible()
            assert await page.get_attribute("#new-key", "aria-invalid") == "true"
            assert await page.input_value("#new-label_zh") == "保修"
            await page.screenshot(path=str(SHOTS / f"themes-error-{language}-{width}.png"))
            await page.goto(f"{live_server.url}/admin/insights/themes?lang={language}")
            await page.locator(f'#theme-resolution li[data-word="{word}"] button').click()
            await page.wait_for_load_state()
            assert await page.locator(f'#theme-resolution li[data-word="{word}"]').count() == 0
        await context.close()
    # the refused form is a 400 page on purpose; nothing else may complain
    assert [p for p in problems if "status of 400" not in p] == []
