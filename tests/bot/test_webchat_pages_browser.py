"""The pages in real Chromium: no Content-Security-Policy violation, framing as documented,
the unknown-survey page, and screenshots at laptop and phone widths in zh and en."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.bot.test_webchat_browser import ARGS, CHROMIUM
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SCREENSHOTS = Path("/tmp/cxbot-screenshots")
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
"""Runs before the page's own scripts (outside its policy) and records every violation."""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Chromium, letting a page on `localhost` frame one on 127.0.0.1 (two sites, one machine)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*ARGS, "--disable-features=LocalNetworkAccessChecks"],
        )
        try:
            yield browser
        finally:
            await browser.close()


async def watched(browser: Browser, **options: object) -> tuple[BrowserContext, Page, list[str]]:
    """A page that records policy violations, console errors and script errors."""
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    await context.add_init_script(WATCH)
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None,
    )
    return context, page, problems


async def violations(page: Page) -> list[str]:
    found: list[str] = await page.evaluate("window.__violations")
    return found


async def test_the_pages_break_no_rule_of_their_policy(
    browser: Browser, live_server: LiveServer
) -> None:
    context, page, problems = await watched(browser, locale="zh-CN")
    await page.goto(f"{live_server.url}/chat/nps")
    log = page.locator("#log")
    await log.locator(".buttons button").filter(has_text="9").first.click()
    await expect(log.locator("li.msg.bot").nth(1)).to_be_visible()
    icon = await page.evaluate("fetch('/favicon.ico').then(r => r.status)")
    assert icon == 200
    assert await violations(page) == []
    for path in ("/", "/chat/nope", "/chat/nope?lang=en"):
        await page.goto(f"{live_server.url}{path}")
        await page.wait_for_load_state("networkidle")
        assert await violations(page) == [], path
    # the 404 of the unknown survey is the only console error
    assert [p for p in problems if "404" not in p] == []
    # and the watch does see a violation when there is one
    await page.evaluate(
        "document.body.appendChild(Object.assign(document.createElement('img'),"
        " {src: 'https://example.invalid/x.png'}))"
    )
    await page.wait_for_function("window.__violations.length > 0")
    assert await violations(page) == ["img-src https://example.invalid/x.png"]
    await context.close()


async def test_another_site_may_frame_the_chat_but_no_other_page(
    browser: Browser, live_server: LiveServer
) -> None:
    context, page, _ = await watched(browser, locale="en-US")
    frames = (
        f'<iframe id="chat" src="{live_server.url}/chat/nps?lang=en"></iframe>'
        f'<iframe id="index" src="{live_server.url}/"></iframe>'
    )
    shop = live_server.url.replace("127.0.0.1", "localhost") + "/shop"  # another site
    await context.route(shop, lambda route: route.fulfill(body=frames, content_type="text/html"))
    await page.goto(shop)
    chat = page.frame_locator("#chat")
    await expect(chat.locator("header")).to_have_text("Would you recommend us?")
    index = page.frame(url=f"{live_server.url}/")
    assert index is None or await index.locator("h1").count() == 0  # blocked by the browser
    await context.close()


async def test_an_unknown_survey_link_in_the_browser(
    browser: Browser, live_server: LiveServer
) -> None:
    context, page, _ = await watched(browser, locale="en-US")
    response = await page.goto(f"{live_server.url}/chat/nope")
    assert response is not None and response.status == 404
    assert await page.title() == "We can’t find this survey"
    await page.locator("#other-language").click()
    await expect(page.locator("h1")).to_have_text("找不到这份调查")
    assert page.url.endswith("/chat/nope?lang=zh")
    await context.close()


@pytest.fixture
def screenshots() -> Path:
    """Where the pictures go; fails when no CJK font would draw the Chinese ones."""
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    assert fonts.stdout.strip(), "no CJK font: ./dev test installs fonts-noto-cjk"
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_screenshots(
    browser: Browser, live_server: LiveServer, screenshots: Path, size: str, lang: str
) -> None:
    """Pictures of the chat (mid-interview) and the unknown-survey page, for people to look at."""
    context, page, problems = await watched(
        browser, locale=f"{lang}-CN" if lang == "zh" else "en-US", viewport=SIZES[size]
    )
    await page.goto(f"{live_server.url}/chat/csat?lang={lang}")
    log = page.locator("#log")
    await log.locator(".buttons button").filter(has_text="2").first.click()
    await expect(log.locator("li.msg.bot").nth(1).locator(".buttons button").first).to_be_visible()
    await page.screenshot(path=str(screenshots / f"chat-{lang}-{size}.png"))
    await page.goto(f"{live_server.url}/chat/nope?lang={lang}")
    await page.screenshot(path=str(screenshots / f"unknown-{lang}-{size}.png"))
    assert await violations(page) == []
    assert [p for p in problems if "404" not in p] == []
    await context.close()
