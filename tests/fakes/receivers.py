"""Loopback HTTP servers that receive what cxbot sends outside: an integrator's webhook
receiver and a WeCom (企业微信) group robot. aiohttp on 127.0.0.1, recording every request.

The WeCom robot answers as the real one does (`POST /cgi-bin/webhook/send?key=KEY`, JSON
`{"msgtype": "markdown", "markdown": {"content": ...}}` → `{"errcode": 0, "errmsg": "ok"}`;
a wrong key → errcode 93000; scripted errcodes such as 45009, the rate limit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Server:
    received: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _port: int = 0

    async def _serve(self, app: web.Application) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@dataclass
class WebhookReceiver(_Server):
    """Answers each POST with the next scripted status (then 204)."""

    statuses: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/hooks/cx"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/cx", self._hook)
        await self._serve(app)

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 204
        return web.Response(status=status)


@dataclass
class FakeWeComRobot(_Server):
    """A WeCom group robot webhook with one valid key."""

    key: str = "robot-key-1"
    errcodes: list[int] = field(default_factory=list)
    """Errcodes for the next messages, in order (then 0)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/cgi-bin/webhook/send?key={self.key}"

    @property
    def messages(self) -> list[str]:
        """The markdown contents the robot accepted, oldest first."""
        return [r.json()["markdown"]["content"] for r in self.received if r.path == "accepted"]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/cgi-bin/webhook/send", self._send)
        await self._serve(app)

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.query.get("key") != self.key:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        try:
            message = json.loads(body)
            content = message["markdown"]["content"]
            assert message["msgtype"] == "markdown" and isinstance(content, str)
        except (ValueError, KeyError, TypeError, AssertionError):
            self.received.append(Received("refused", dict(request.headers), body))
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        code = self.errcodes.pop(0) if self.errcodes else 0
        self.received.append(Received("accepted" if code == 0 else "failed", {}, body))
        return web.json_response({"errcode": code, "errmsg": "ok" if code == 0 else "limit"})
