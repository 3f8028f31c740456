"""The admin pages in real Chromium: a person signs in, switches language, signs out; no
Content-Security-Policy violation; screenshots of the sign-in and users pages (zh and en,
1280 px and 390 px) for people to look at."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.admin.conftest import PASSWORD, add_user
from tests.bot.test_webchat_pages_browser import (
    browser,  # noqa: F401 - the fixture
    screenshots,  # noqa: F401 - the fixture
    violations,
    watched,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SIZES = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}


async def seed(live_server: LiveServer) -> None:
    await add_user(live_server.app, "ann", "admin")
    await add_user(live_server.app, "王小明", "agent")
    await add_user(live_server.app, "<script>alert(1)</script>", "viewer")


async def sign_in(page: Page, url: str, name: str = "ann") -> None:
    await page.locator("#name").fill(name)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("form[action='/admin/login'] button[type=submit]").click()
    await page.wait_for_url(url)


async def test_sign_in_switch_language_sign_out(browser: Browser, live_server: LiveServer) -> None:  # noqa: F811
    await seed(live_server)
    context, page, problems = await watched(browser, locale="zh-CN", viewport=SIZES["1280"])
    await page.goto(f"{live_server.url}/admin/users")
    assert page.url == f"{live_server.url}/admin/login?next=%2Fadmin%2Fusers"
    assert await page.title() == "登录 · cxbot 管理后台"
    await page.locator("#name").fill("ann")
    await page.locator("#password").fill("wrong password!")
    await page.locator("form[action='/admin/login'] button[type=submit]").click()
    await expect(page.locator(".flash.error")).to_have_text("用户名或密码不正确。")
    await sign_in(page, f"{live_server.url}/admin/users")
    await expect(page.locator("h1")).to_have_text("用户")
    await expect(page.locator(".who")).to_have_text("当前用户：ann（管理员）")
    evil = page.locator("tr[data-user='<script>alert(1)</script>'] td.name")
    await expect(evil).to_have_text("<script>alert(1)</script>")

    # removing asks first: dismissed, nothing happens; accepted, the user is gone
    wang = page.locator("tr[data-user='王小明']")
    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), asyncio.ensure_future(d.dismiss())))
    await wang.locator("button.danger").click()
    await expect(wang).to_have_count(1)
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await wang.locator("button.danger").click()
    await expect(page.locator(".flash.notice")).to_have_text("已删除用户 王小明。")
    await expect(wang).to_have_count(0)
    assert questions == ["确定删除用户 王小明？"]

    await page.locator(".langs a", has_text="English").click()
    await expect(page.locator("h1")).to_have_text("Users")
    await page.locator(".mainnav a", has_text="API tokens").click()  # remembered: a cookie
    await expect(page.locator("h1")).to_have_text("API tokens")
    assert "lang=" not in page.url
    assert await page.locator("html").get_attribute("lang") == "en"

    await page.locator(".signout button").click()
    await page.wait_for_url(f"{live_server.url}/admin/login?bye=1")
    await expect(page.locator(".flash.notice")).to_have_text("You have signed out.")
    await page.goto(f"{live_server.url}/admin/tokens")
    assert page.url.startswith(f"{live_server.url}/admin/login?next=")
    assert await violations(page) == []
    assert [p for p in problems if "400" not in p] == []  # the wrong password's answer
    await context.close()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_screenshots(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
    screenshots: Path,  # noqa: F811
    size: str,
    lang: str,
) -> None:
    """The sign-in, users and tokens pages as a person sees them."""
    await seed(live_server)
    context, page, problems = await watched(
        browser, locale="zh-CN" if lang == "zh" else "en-US", viewport=SIZES[size]
    )
    await page.goto(f"{live_server.url}/admin/login?lang={lang}")
    await page.screenshot(path=str(screenshots / f"admin-login-{lang}-{size}.png"))
    await sign_in(page, f"{live_server.url}/admin")
    await page.goto(f"{live_server.url}/admin/users")
    await expect(page.locator("h1")).to_have_text("用户" if lang == "zh" else "Users")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"], "the page scrolls sideways"
    await page.screenshot(path=str(screenshots / f"admin-users-{lang}-{size}.png"), full_page=True)
    await page.goto(f"{live_server.url}/admin/tokens")
    await page.locator("#token-name").fill("BI 看板 / dashboard")
    await page.locator("form[action='/admin/tokens'] button[type=submit]").click()
    await expect(page.locator("#new-token")).to_contain_text("cxb_")
    await page.screenshot(path=str(screenshots / f"admin-tokens-{lang}-{size}.png"), full_page=True)
    assert await violations(page) == []
    assert problems == []
    await context.close()


async def test_the_limit_page_speaks_both_languages(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
    screenshots: Path,  # noqa: F811
) -> None:
    await seed(live_server)
    context, page, _ = await watched(browser, locale="zh-CN", viewport=SIZES["390"])
    for attempt in range(6):
        await page.goto(f"{live_server.url}/admin/login")
        await page.locator("#name").fill("ann")
        await page.locator("#password").fill(f"guess number {attempt}")
        await page.locator("form[action='/admin/login'] button[type=submit]").click()
        await page.wait_for_load_state()
    await expect(page.locator("h1")).to_have_text("尝试次数过多")
    alert = page.locator(".flash.error")
    await expect(alert.locator("p[lang=zh]")).to_contain_text(
        re.compile(r"登录失败次数过多，请在 ([6-9]|10) 分钟后再试")
    )
    await expect(alert.locator("p[lang=en]")).to_contain_text(
        re.compile(r"Try again in ([6-9]|10) minutes")
    )
    await page.screenshot(path=str(screenshots / "admin-limited-zh-390.png"))
    await context.close()
