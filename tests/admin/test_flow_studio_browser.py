"""The flow studio in real Chromium, as issue 16 asks: an admin opens the NPS flow, types an
error and sees it at its line, fixes it, rewords the "what went wrong" question in Chinese and
English, saves a draft, reads the diff, is told another admin published meanwhile, publishes,
tries it in the simulator — and the next web
chat interview asks the new wording while one already running stays on the old one; then a
rollback. No Content-Security-Policy violation, no script error. Screenshots (zh and en,
1280 and 390 px) go to /tmp/flow-studio-*.png; the telling ones are in docs/screenshots/."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from flows.validation import validate
from tests.admin.conftest import PASSWORD, add_user
from tests.bot.test_webchat_browser import ARGS, CHROMIUM
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp")
OLD_EN = "Sorry we let you down. What went wrong?"
NEW_EN = "Sorry about that. What should we fix first?"
OLD_ZH = "很抱歉让您失望了。最让您不满意的是什么？"
NEW_ZH = "很抱歉！我们最应该先改进哪一点？"
REPORT_CSP = """document.addEventListener("securitypolicyviolation", (e) =>
  console.error("CSP " + e.violatedDirective + " " + e.sourceFile + ":" + e.lineNumber))"""


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


async def admin_page(
    browser: Browser, server: LiveServer, width: int, language: str
) -> tuple[BrowserContext, Page, list[str]]:
    """A signed-in admin's page; `problems` collects script errors and CSP violations."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    await context.add_init_script(REPORT_CSP)
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(f"{server.url}/admin/login?lang={language}")
    await page.fill("#name", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server.url}/admin")
    return context, page, problems


async def replace_in_editor(page: Page, old: str, new: str) -> None:
    """Select `old` in the editor and type `new` over it, key by key."""
    found = await page.evaluate(
        """(old) => {
             const view = window.cxFlowView;
             const at = view.state.doc.toString().indexOf(old);
             if (at < 0) return false;
             view.dispatch({ selection: { anchor: at, head: at + old.length } });
             view.focus();
             return true;
           }""",
        old,
    )
    assert found, old
    await page.keyboard.type(new)


async def web_chat(browser: Browser, server: LiveServer) -> tuple[BrowserContext, Page]:
    """A customer's English web chat on the NPS interview, at its first question."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{server.url}/chat/nps?lang=en")
    await expect(page.locator("#log li.msg.bot").first).to_contain_text("How likely")
    return context, page


async def answer_three(page: Page) -> str:
    """Tap 3 on the score question; the bot's next question."""
    await page.locator("#log .buttons button").filter(has_text="3").first.click()
    second = page.locator("#log li.msg.bot").nth(1)
    await expect(second).not_to_be_empty()
    return await second.inner_text()


def line_of(source: str, text: str) -> int:
    return source[: source.index(text)].count("\n") + 1


async def test_an_admin_edits_tries_publishes_and_rolls_back_a_flow(
    browser: Browser, live_server: LiveServer, db_path: Path
) -> None:
    await add_user(live_server.app, "ann", "admin")
    context, page, problems = await admin_page(browser, live_server, 1280, "en")
    running, running_page = await web_chat(browser, live_server)  # started on revision 1

    await page.click("a[href='/admin/flows']")
    await page.click("a[href='/admin/flows/nps']")
    await expect(page.locator("#lint-status")).to_contain_text("No problems")
    source = await page.evaluate("window.cxFlowView.state.doc.toString()")

    # an error, at its line
    await replace_in_editor(page, "goto: why_high", "goto: why_hihg")
    await expect(page.locator("#lint-status")).to_have_text("Problems: 2")
    broken = source.replace("goto: why_high", "goto: why_hihg")
    expected = [f"{p.line}:{p.column} {p.message}" for p in validate(broken).problems]
    assert expected[0].startswith(f"{line_of(source, 'goto: why_high')}:")  # cxbot check's
    await expect(page.locator("#problems li")).to_have_text(expected)
    marker = page.locator(".cm-gutter-lint .cm-gutterElement:has(.cm-lint-marker-error)")
    await expect(marker.first).to_be_visible()
    marked_lines = await page.evaluate(
        """() => [...document.getElementById("editor").shadowRoot
             .querySelectorAll(".cm-lint-marker-error")].length"""
    )
    assert marked_lines >= 1
    await page.screenshot(path=str(SHOTS / "flow-studio-error-en-1280.png"), full_page=True)

    # completion from the JSON Schema: the keys allowed here, with their descriptions
    await page.evaluate(
        """() => {
             const view = window.cxFlowView;
             const end = view.state.doc.toString().indexOf("timeout: 30m") + 12;
             view.dispatch({ selection: { anchor: end } });
             view.focus();
           }"""
    )
    await page.keyboard.press("Enter")
    await page.keyboard.type("quie")
    await page.keyboard.press("Control+Space")
    option = page.locator(".cm-tooltip-autocomplete li", has_text="quiet_days")
    await expect(option).to_be_visible()
    await expect(page.locator(".cm-completionInfo")).to_contain_text("quiet period")
    await page.keyboard.press("Escape")
    for _ in "\nquie":
        await page.keyboard.press("Backspace")
    assert await page.evaluate("window.cxFlowView.state.doc.toString()") == broken

    # fixed, and the reason question reworded in both languages
    await replace_in_editor(page, "goto: why_hihg", "goto: why_high")
    await replace_in_editor(page, OLD_ZH, NEW_ZH)
    await replace_in_editor(page, OLD_EN, NEW_EN)
    await expect(page.locator("#lint-status")).to_contain_text("No problems")
    await page.click("#tab-texts")
    await expect(page.locator("#texts")).to_contain_text(NEW_ZH)
    await page.click("#save-draft")
    await expect(page.locator("#studio-notice")).to_contain_text("Draft saved")
    edited = await page.evaluate("window.cxFlowView.state.doc.toString()")
    await page.reload()  # the draft is kept on the server, and comes back
    await expect(page.locator("#studio-notice")).to_contain_text("Your draft is loaded")
    assert await page.evaluate("window.cxFlowView.state.doc.toString()") == edited
    await expect(page.locator("#discard-draft")).to_be_visible()

    # the diff, then publish
    await page.click("#review")
    await expect(page.locator("#diff-summary")).to_have_text("2 lines added, 2 removed")
    await expect(page.locator("#diff tr.removed")).to_have_count(2)
    await expect(page.locator("#diff tr.added").first).to_contain_text(NEW_ZH)
    await page.screenshot(path=str(SHOTS / "flow-studio-diff-en-1280.png"), full_page=True)

    # another admin publishes meanwhile: shown, not overwritten unseen
    theirs = source.replace("Have a great day!", "See you soon!")
    await live_server.app.state.flow_studio.publish("nps", author="bo", source=theirs)
    await page.click("#publish")
    await expect(page.locator("#studio-notice")).to_contain_text("Someone just published")
    await expect(page.locator("#diff tr.removed").last).to_contain_text("See you soon!")
    await page.click("#publish")
    await expect(page.locator("#studio-notice")).to_have_text("Published as revision 3")
    await expect(page.locator("#discard-draft")).to_be_hidden()  # the draft went live

    # the simulator runs the new text and writes nothing
    rows_before = count_rows(db_path)
    await page.click("#tab-simulator")
    await page.select_option("#sim-language", "en")
    await page.fill("#sim-brand", "Acme")
    await page.click("#sim-start")
    chat = page.locator("#sim-chat")
    await expect(chat.locator("li.from-bot").first).to_contain_text("recommend Acme")
    await chat.locator("button.chip", has_text="3").first.click()
    await expect(chat.locator("li.from-bot").nth(1)).to_contain_text(NEW_EN)
    await page.fill("#sim-input", "the courier never came")
    await page.click("#sim-send")
    await expect(page.locator("#sim-status")).to_contain_text("Handed to a person")
    await expect(page.locator("#sim-events")).to_contain_text("escalation-requested")
    await page.screenshot(path=str(SHOTS / "flow-studio-simulator-en-1280.png"), full_page=True)
    assert count_rows(db_path) == rows_before

    # the running interview stays on revision 1; the next one asks the new wording
    assert await answer_three(running_page) == OLD_EN
    fresh, fresh_page = await web_chat(browser, live_server)
    assert await answer_three(fresh_page) == NEW_EN
    await fresh.close()

    # the diagram, and a rollback from the history
    await page.click("#tab-diagram")
    await expect(page.locator("#diagram img")).to_be_visible()
    await page.click("#tab-history")
    await expect(page.locator("#history li")).to_have_count(3)
    await expect(page.locator("#history li[data-revision='2']")).to_contain_text("bo")
    await page.locator("#history li[data-revision='1'] button.restore").click()
    await expect(page.locator("#studio-notice")).to_have_text("Revision 1 restored as revision 4")
    await expect(page.locator("#history li")).to_have_count(4)
    rolled_back, rolled_page = await web_chat(browser, live_server)
    assert await answer_three(rolled_page) == OLD_EN

    # a draft thrown away: the editor goes back to the live text
    await replace_in_editor(page, OLD_EN, "Not this one")
    await page.click("#save-draft")
    await expect(page.locator("#discard-draft")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#discard-draft")
    await expect(page.locator("#studio-notice")).to_contain_text("Draft discarded")
    assert await page.evaluate("window.cxFlowView.state.doc.toString()") == source
    await page.reload()
    await expect(page.locator("#studio-notice")).to_be_hidden()  # no draft any more
    # no script error, no CSP report; Chromium logs the one refused publish (409) itself
    assert problems == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]

    # signed out (e.g. the session ran out) while editing: said so, the text stays
    await context.clear_cookies()
    await replace_in_editor(page, "timeout: 30m", "timeout: 20m")
    await expect(page.locator("#studio-notice")).to_contain_text("Your sign-in has ended")
    assert "timeout: 20m" in await page.evaluate("window.cxFlowView.state.doc.toString()")
    for other in (rolled_back, running, context):
        await other.close()


def count_rows(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        return {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("customer", "conversation", "message", "answer", "escalation", "event")
        }


async def test_screenshots_in_both_languages_and_widths(
    browser: Browser, live_server: LiveServer
) -> None:
    await add_user(live_server.app, "ann", "admin")
    for width in (1280, 390):
        context, page, problems = await admin_page(browser, live_server, width, "zh")
        for language in ("zh", "en"):
            await page.goto(f"{live_server.url}/admin/flows?lang={language}")
            await page.screenshot(
                path=str(SHOTS / f"flow-studio-list-{language}-{width}.png"), full_page=True
            )
            await page.goto(f"{live_server.url}/admin/flows/nps?lang={language}")
            await expect(page.locator("#lint-status.good")).to_be_visible()
            await page.click("#sim-start")
            await expect(page.locator("#sim-chat li.from-bot")).to_have_count(1)
            await page.screenshot(
                path=str(SHOTS / f"flow-studio-editor-{language}-{width}.png"), full_page=True
            )
            await page.click("#tab-texts")
            await page.screenshot(
                path=str(SHOTS / f"flow-studio-texts-{language}-{width}.png"), full_page=True
            )
            await page.click("#tab-diagram")
            await expect(page.locator("#diagram img")).to_be_visible()
            await page.locator(".side").screenshot(
                path=str(SHOTS / f"flow-studio-diagram-{language}-{width}.png")
            )
        assert problems == []
        await context.close()
