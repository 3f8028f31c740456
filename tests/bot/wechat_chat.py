"""The WeChat test rig: the app with the WeChat channel, WeChat's side, and the fake API."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bot.channel import Report
from bot.wechat import WeChatChannel
from cxbot.app import create_app
from cxbot.settings import Settings
from tests.fakes.wechat_api import FakeWeChatApi
from tests.fakes.wechat_server import Follower, Mode, WeChatServer

TOKEN = "cxbot-wechat-token-for-tests"
APP_ID = "wx0123456789abcdef"
SECRET = "app-secret-for-tests"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
"""A 43-character EncodingAESKey, as the 服务器配置 page generates."""


def wechat_settings(db_url: str, api: FakeWeChatApi | None, **changes: Any) -> Settings:
    """Settings with every WeChat value set (the fake API as WeChat's server)."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "flow_reload_seconds": 0,
        "wechat_token": TOKEN,
        "wechat_app_id": APP_ID,
        "wechat_app_secret": SECRET,
        "wechat_encoding_aes_key": AES_KEY,
        "wechat_api_base_url": api.base_url if api else "http://127.0.0.1:9",
    }
    values.update(changes)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass(frozen=True)
class Sent:
    """What became of one customer-service send."""

    report: Report

    @property
    def sent(self) -> bool:
        """True when the message reached WeChat."""
        return bool(self.report.sent) and self.report.complete

    @property
    def error(self) -> str | None:
        """Why not."""
        return self.report.error

    @property
    def message_ids(self) -> tuple[int, ...]:
        """The rows this send concerned."""
        return self.report.sent + self.report.failed + self.report.deferred


@dataclass
class Rig:
    """Everything a WeChat test talks to."""

    app: FastAPI
    client: httpx.AsyncClient
    server: WeChatServer
    api: FakeWeChatApi
    db_path: Path

    @property
    def channel(self) -> WeChatChannel:
        """The mounted channel."""
        channel: WeChatChannel = self.app.state.wechat
        return channel

    async def send_text(self, openid: str, text: str, *, author: str = "agent") -> Sent:
        """Send a message outside a reply through the one delivery path (an agent's reply)."""
        report = await self.app.state.runtime.delivery.send_text(
            channel="wechat", customer_ref=openid, text=text, author=author
        )
        return Sent(report)

    def follower(self, openid: str) -> Follower:
        """A customer with this openid."""
        return Follower(self.server, openid)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Query the database file directly."""
        with sqlite3.connect(self.db_path) as db:
            return db.execute(sql, params).fetchall()


@asynccontextmanager
async def running(
    db_path: Path, db_url: str, *, mode: Mode = "safe", **changes: Any
) -> AsyncIterator[Rig]:
    """The fake API, the app (lifespan running) and WeChat's side, for one test."""
    api = FakeWeChatApi(APP_ID, SECRET)
    await api.start()
    try:
        app = create_app(wechat_settings(db_url, api, **changes))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                server = WeChatServer(client, TOKEN, APP_ID, AES_KEY, mode)
                yield Rig(app, client, server, api, db_path)
    finally:
        await api.stop()
