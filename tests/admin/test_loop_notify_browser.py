"""The webhooks page, the agents' nav badge and the dashboard's loop section in real
Chromium: an admin adds a webhook and sees its secret once, the badge counts open and
overdue cases; no Content-Security-Policy violation; screenshots (zh and en, 1280 and
390 px) in docs/screenshots/loop-*.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import update
from sqlmodel import col

from cxbot.settings import Settings
from storage import dispatches, webhooks
from storage.loop_tables import Dispatch
from storage.models import Conversation, Customer, Escalation
from tests.admin.conftest import add_user
from tests.admin.test_admin_browser import SIZES, sign_in
from tests.bot.test_webchat_pages_browser import (
    browser,  # noqa: F401 - the fixture
    screenshots,  # noqa: F401 - the fixture
    violations,
    watched,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def app_settings(app_settings: Settings) -> Settings:
    """The shared settings, with the notifier idle: the page shows what the test stored."""
    return app_settings.model_copy(update={"notify_sweep_seconds": 600.0})


async def seed(live_server: LiveServer) -> None:
    """An admin, cases (one overdue), an endpoint and deliveries in each state."""
    await add_user(live_server.app, "ann", "admin")
    auth = live_server.app.state.admin_auth
    now = auth.clock()
    async with auth.writer.transaction() as session:
        person = Customer(channel="wechat", external_id="o6_x")
        session.add(person)
        await session.flush()
        for minutes, status, outcome, answer in (
            (-30, "open", None, None), (45, "open", None, None),
            (-90, "resolved", "refund", "yes"), (-200, "resolved", "explained", "no"),
        ):
            talk = Conversation(  # one open case per conversation at most
                customer_id=person.id or 0, channel="wechat", flow_id="nps", flow_version="1",
                touchpoint="support", journey_stage="usage", language="zh",
                status="handed_off",
            )
            session.add(talk)
            await session.flush()
            session.add(
                Escalation(
                    conversation_id=talk.id or 0, customer_id=person.id or 0,
                    reason="detractor", priority="high", status=status,
                    due_at=now + timedelta(minutes=minutes), created_at=now - timedelta(hours=3),
                    first_reply_at=None if status == "open" else now - timedelta(minutes=160),
                    resolved_at=None if status == "open" else now - timedelta(hours=2),
                    outcome=outcome, closing_answer=answer,
                )
            )
        hook = await webhooks.add_endpoint(
            session=session, url="https://crm.example.com/hooks/cxbot",
            events=["escalation.opened", "escalation.resolved"], secret="whsec_seed",
            now=now - timedelta(days=1), created_by="ann",
        )
        rows = (
            (f"webhook:{hook.id}", "sent", "204", 1),
            (f"webhook:{hook.id}", "pending", "HTTP 503", 2),
            ("telegram", "sent", "sent -1001234567890:101", 1),
            ("wecom", "failed", "WeCom errcode 93000: invalid webhook url", 1),
        )
        for number, (target, state, status, tries) in enumerate(rows):
            key = f"escalation.opened:{number + 1}"
            await dispatches.enqueue(
                session=session, target=target, key=key, event="escalation.opened",
                payload={}, now=now + timedelta(minutes=number),
                endpoint_id=hook.id if target.startswith("webhook") else None,
            )
            await session.exec(
                update(Dispatch)
                .where(col(Dispatch.key) == key, col(Dispatch.target) == target)
                .values(
                    state=state, last_status=status, attempts=tries,
                    next_attempt_at=now + timedelta(minutes=5),
                )
            )
        hook.last_status, hook.last_attempt_at = "HTTP 503", now
        session.add(hook)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_webhooks_page_badge_and_loop_figures(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
    screenshots: Path,  # noqa: F811
    size: str,
    lang: str,
) -> None:
    await seed(live_server)
    context, page, problems = await watched(
        browser, locale="zh-CN" if lang == "zh" else "en-US", viewport=SIZES[size]
    )
    await page.goto(f"{live_server.url}/admin/login?lang={lang}")
    await sign_in(page, f"{live_server.url}/admin")
    badge = page.locator("[data-loop-badge]")
    await expect(badge).to_have_text("2")  # two open cases, one of them overdue
    await expect(badge).to_have_class("nav-badge overdue")
    loop = page.locator("#loop")
    await expect(loop).to_contain_text("refund")
    await loop.scroll_into_view_if_needed()
    await loop.screenshot(path=str(screenshots / f"loop-dashboard-{lang}-{size}.png"))

    await page.goto(f"{live_server.url}/admin/webhooks")
    await expect(page.locator("h1")).to_have_text(
        "Webhooks 与通知" if lang == "zh" else "Webhooks and notices"
    )
    await page.locator("#webhook-url").fill("https://bi.example.com/cx?src=<cxbot>")
    await page.locator("input[name=events][value='detractor.recorded']").check()
    await page.locator("form[action='/admin/webhooks'] button[type=submit]").click()
    await expect(page.locator("#new-secret")).to_contain_text("whsec_")
    row = page.locator("tr[data-endpoint]").filter(has_text="https://bi.example.com/cx?src=<cxbot>")
    await expect(row).to_have_count(1)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"], "the page scrolls sideways"
    await page.screenshot(
        path=str(screenshots / f"loop-webhooks-{lang}-{size}.png"), full_page=True
    )
    await page.goto(f"{live_server.url}/admin/webhooks")
    await expect(page.locator("#new-secret")).to_have_count(0)  # shown once
    assert await violations(page) == []
    assert problems == []
    await context.close()
