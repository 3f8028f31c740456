"""Putting the loop's announcements into the app: the notifier and the dispatcher running in
every process, the webhooks page and API, and the agents' nav badge.

`install(app, runtime, auth)` is the one call the app factory makes; the loop runs from
start-up to shutdown (`runtime.on_startup` / `on_shutdown`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import httpx
from fastapi import FastAPI

from admin import access, loop_badge, webhooks_api, webhooks_page
from admin.auth import AdminAuth
from cxbot.dispatcher import Backoff, Dispatcher
from cxbot.notices import NoticeConfig, Notifier
from cxbot.runtime import Runtime
from cxbot.settings import Settings

log = logging.getLogger(__name__)


def case_url(settings: Settings) -> str:
    """The link to a case, `{id}` to fill: PUBLIC_URL (else host:port) + the case page."""
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return base.rstrip("/") + "/admin/escalations/{id}"


def notice_config(settings: Settings) -> NoticeConfig:
    """Where the notices go, from the settings."""
    telegram = settings.notify_telegram_chat_id
    if telegram and settings.telegram_bot_token is None:
        log.error("CXBOT_NOTIFY_TELEGRAM_CHAT_ID is set but TELEGRAM_BOT_TOKEN is not: no bot")
    return NoticeConfig(
        case_url=case_url(settings),
        telegram_chat_id=telegram,
        wecom=settings.notify_wecom_webhook_url is not None,
        language=settings.notify_language,
    )


def install(app: FastAPI, runtime: Runtime, auth: AdminAuth) -> None:
    """Mount the pages and run the notifier and dispatcher with the app."""
    settings = runtime.settings
    notifier = Notifier(
        writer=runtime.service.writer, clock=runtime.service.clock, config=notice_config(settings)
    )
    targets = {
        "telegram": bool(notifier.config.telegram_chat_id),
        "wecom": notifier.config.wecom,
    }
    app.include_router(webhooks_page.router(auth, targets=targets))
    app.include_router(webhooks_api.router(auth, admin=access.api_role("admin")))
    app.include_router(loop_badge.router(auth.sessions, auth.clock))
    app.state.notifier = notifier
    stop = asyncio.Event()
    running: list[asyncio.Task[None]] = []
    clients: list[httpx.AsyncClient] = []

    async def start() -> None:
        http = httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False, trust_env=False
        )
        clients.append(http)
        wecom = settings.notify_wecom_webhook_url
        dispatcher = Dispatcher(
            writer=runtime.service.writer,
            clock=runtime.service.clock,
            http=http,
            lease=timedelta(seconds=max(60.0, 3 * settings.webhook_timeout_seconds)),
            backoff=Backoff(
                first=timedelta(seconds=settings.webhook_retry_seconds),
                max_attempts=settings.webhook_max_attempts,
            ),
            telegram=lambda: runtime.delivery.senders.get("telegram"),
            wecom_url=None if wecom is None else wecom.get_secret_value(),
        )
        app.state.dispatcher = dispatcher
        log.info(
            "loop notices: telegram group %s, wecom robot %s; webhooks from /admin/webhooks",
            "on" if targets["telegram"] else "off",
            "on" if targets["wecom"] else "off",
        )
        running.append(
            asyncio.create_task(dispatcher.run(settings.notify_sweep_seconds, stop, notifier.scan))
        )

    async def shutdown() -> None:
        stop.set()
        for task in running:
            with contextlib.suppress(Exception):
                await task
        for client in clients:
            await client.aclose()

    runtime.on_startup.append(start)
    runtime.on_shutdown.append(shutdown)
