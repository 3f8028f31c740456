"""Building the chat channels that have credentials, from the settings.

Each channel gets the conversation service, the delivery path and the small stores it needs
(`bot.channel`); its sender joins the delivery path; a channel without credentials is not
mounted, with one log line saying why.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from fastapi import FastAPI

from bot.webchat import WebSender
from cxbot.nonces import DatabaseNonces
from cxbot.settings import Settings
from cxbot.wechat_tokens import SharedToken

if TYPE_CHECKING:
    from bot.telegram import TelegramConfig
    from cxbot.runtime import Runtime

log = logging.getLogger(__name__)


def _text(secret: object) -> str | None:
    value = getattr(secret, "get_secret_value", None)
    return value() if value is not None else None


def telegram_config(settings: Settings) -> TelegramConfig | None:
    """The Telegram channel's configuration, or None without a bot token."""
    from bot.telegram import TelegramConfig

    token = _text(settings.telegram_bot_token)
    if not token:
        return None
    return TelegramConfig(
        token=token,
        webhook_secret=_text(settings.telegram_webhook_secret),
        api_base_url=settings.telegram_api_base_url,
        polling=settings.telegram_polling,
        processes=settings.workers,
    )


def mount_all(app: FastAPI, runtime: Runtime) -> None:
    """Mount the web chat's sender and every configured platform channel."""
    runtime.delivery.register(WebSender())
    mount_telegram(app, runtime)
    mount_wechat(app, runtime)


def mount_telegram(app: FastAPI, runtime: Runtime) -> None:
    """Add the Telegram channel when TELEGRAM_BOT_TOKEN is set."""
    config = telegram_config(runtime.settings)
    if config is None:
        log.info("telegram channel not mounted: TELEGRAM_BOT_TOKEN is not set")
        return
    from bot.telegram import WEBHOOK_PATH, TelegramChannel

    channel = TelegramChannel(
        config, service=runtime.service, outbox=runtime.delivery, registry=runtime.registry
    )
    app.state.telegram = channel
    runtime.delivery.register(channel.sender)
    start, stop = channel.hooks
    runtime.on_startup.append(start)
    runtime.on_shutdown.append(stop)
    if channel.polling:
        log.info("telegram channel mounted (long polling; no webhook route)")
        return
    if not channel.secret:
        log.error(
            "TELEGRAM_WEBHOOK_SECRET is not set: %s refuses every update; set it or use polling",
            WEBHOOK_PATH,
        )
    app.include_router(channel.router())
    log.info("telegram channel mounted at %s", WEBHOOK_PATH)


def mount_wechat(app: FastAPI, runtime: Runtime) -> None:
    """Add the WeChat webhook when WECHAT_TOKEN is set."""
    settings = runtime.settings
    token = _text(settings.wechat_token)
    if not token:
        log.info("WeChat channel not mounted: WECHAT_TOKEN is not set")
        return
    from bot.wechat import PATH, WeChatChannel, WeChatConfig

    config = WeChatConfig(
        token=token,
        app_id=settings.wechat_app_id,
        app_secret=_text(settings.wechat_app_secret),
        encoding_aes_key=_text(settings.wechat_encoding_aes_key),
        api_base_url=settings.wechat_api_base_url,
        reply_budget_seconds=settings.wechat_reply_budget_seconds,
        mode=settings.wechat_mode,
    )
    service = runtime.service
    channel = WeChatChannel(
        config,
        service=service,
        outbox=runtime.delivery,
        registry=runtime.registry,
        nonces=DatabaseNonces(service.writer),
    )
    if channel.api is not None:
        channel.api.tokens = SharedToken(
            app_id=channel.api.app_id,
            fetch=channel.api.fetch_token,
            sessions=service.sessions,
            clock=service.clock,
        )
    app.state.wechat = channel
    app.include_router(channel.router())
    runtime.delivery.register(channel.sender)
    start, stop = channel.hooks
    runtime.on_startup.append(start)
    runtime.on_shutdown.append(stop)
    log.info("WeChat channel mounted at %s (%s mode)", PATH, channel.mode)


def set_webhook_command(settings: Settings) -> int:
    """`cxbot telegram set-webhook`: register PUBLIC_URL/webhooks/telegram with Telegram."""
    from telegram.error import TelegramError

    from bot.telegram import WEBHOOK_PATH, register_webhook
    from bot.telegram_updates import ALLOWED_UPDATES

    config = telegram_config(settings)
    missing = [
        name
        for name, value in (
            ("TELEGRAM_BOT_TOKEN", config),
            ("TELEGRAM_WEBHOOK_SECRET", config and config.webhook_secret),
            ("CXBOT_PUBLIC_URL", settings.public_url),
        )
        if not value
    ]
    if missing or config is None or not settings.public_url:
        print(f"cannot set the webhook: set {', '.join(missing)}", file=sys.stderr)
        return 1
    url = f"{settings.public_url.rstrip('/')}{WEBHOOK_PATH}"
    try:
        result = asyncio.run(register_webhook(config, url))
    except TelegramError as exc:
        print(f"setWebhook failed: {exc}", file=sys.stderr)
        return 1
    print(f"webhook set for {result}; updates: {', '.join(ALLOWED_UPDATES)}")
    return 0
