"""A fake WeChat API server (aiohttp on 127.0.0.1): access tokens and customer-service sends.

wechatpy's real client talks to it through `WECHAT_API_BASE_URL=http://127.0.0.1:PORT`.
As WeChat does: `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=` issues a
token (and makes the previous one invalid), `POST /cgi-bin/message/custom/send?access_token=`
takes a JSON body (wechatpy sends no Content-Type) and answers `{"errcode": 0, ...}`.
Errors can be switched on: `revoke_tokens()` makes the next send fail with 40001,
`fail_next(45015)` / `fail_next(45047)` answer the next sends with that errcode, and
`answer_tokens_with({...})` answers the next token requests with a given JSON body.
`hold_next_send(accept=...)` keeps the next customer-service send unanswered until
`release_holds()` (or `stop()`), so a test can kill the sender mid-call: with `accept` WeChat
took the message (it counts as sent), without it the message never got through.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40013: "invalid appid",
    40125: "invalid appsecret",
    40164: "invalid ip 203.0.113.7, not in whitelist",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    -1: "system error",
}


@dataclass
class Call:
    """One request the client made."""

    path: str
    params: dict[str, str]
    body: dict[str, Any] | None
    answer: dict[str, Any]
    at: float
    """time.monotonic() when it arrived."""


@dataclass
class Hold:
    """A customer-service send to keep in flight."""

    accept: bool
    """True: WeChat takes the message; only the answer is held back."""
    call: Call | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def caught(self, within: float = 10.0) -> Call:
        """Wait until the held send has arrived; the call."""
        await asyncio.wait_for(self.arrived.wait(), within)
        assert self.call is not None
        return self.call


@dataclass
class FakeWeChatApi:
    """The fake server; `start()` it, point the app at `base_url`, read `calls` and `sent`."""

    app_id: str
    secret: str
    expires_in: int = 7200
    calls: list[Call] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    """Every access token issued, oldest first; only the last one is valid."""
    failures: list[int] = field(default_factory=list)
    """Errcodes for the next customer-service sends, in order."""
    token_answers: list[dict[str, Any]] = field(default_factory=list)
    """JSON bodies for the next token requests, in order (e.g. an errcode 40164)."""
    holds: list[Hold] = field(default_factory=list)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        """What WECHAT_API_BASE_URL should be."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The customer-service messages WeChat accepted, oldest first."""
        return [
            call.body
            for call in self.calls
            if call.path == "/cgi-bin/message/custom/send"
            and call.body is not None
            and call.answer["errcode"] == 0
        ]

    def fail_next(self, errcode: int, times: int = 1) -> None:
        """Answer the next `times` sends with `errcode`."""
        self.failures.extend([errcode] * times)

    def answer_tokens_with(self, answer: dict[str, Any], times: int = 1) -> None:
        """Answer the next `times` token requests with `answer` instead of a token."""
        self.token_answers.extend([answer] * times)

    def token_calls(self) -> int:
        """How many times a token was asked for."""
        return sum(call.path == "/cgi-bin/token" for call in self.calls)

    def hold_next_send(self, *, accept: bool) -> Hold:
        """Keep the next customer-service send unanswered until `release_holds()`."""
        hold = Hold(accept)
        self.holds.append(hold)
        return hold

    def release_holds(self) -> None:
        """Answer every held send (the caller is usually gone by then)."""
        self._released.set()

    def revoke_tokens(self) -> None:
        """Make every issued token invalid (the next send gets 40001)."""
        self.tokens.append("revoked")

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop listening (held sends are let go first)."""
        self.release_holds()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _answer(self, request: web.Request, body: Any, answer: dict[str, Any]) -> web.Response:
        self.calls.append(Call(request.path, dict(request.query), body, answer, time.monotonic()))
        return web.json_response(answer)

    async def _token(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("grant_type") != "client_credential" or query.get("appid") != self.app_id:
            return self._answer(request, None, _error(40013))
        if query.get("secret") != self.secret:
            return self._answer(request, None, _error(40125))
        if self.token_answers:
            return self._answer(request, None, self.token_answers.pop(0))
        token = f"AT{next(self._numbers)}"
        self.tokens.append(token)
        return self._answer(request, None, {"access_token": token, "expires_in": self.expires_in})

    async def _send(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        token = request.query.get("access_token")
        if not self.tokens or token != self.tokens[-1]:
            return self._answer(request, body, _error(40001))
        if self.failures:
            return self._answer(request, body, _error(self.failures.pop(0)))
        hold = next((h for h in self.holds if h.call is None), None)
        if hold is not None:
            answer = {"errcode": 0, "errmsg": "ok"} if hold.accept else _error(-1)
            self._answer(request, body, answer)
            hold.call = self.calls[-1]
            hold.arrived.set()
            await self._released.wait()
            return web.json_response(answer)
        return self._answer(request, body, {"errcode": 0, "errmsg": "ok"})


def _error(errcode: int) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")}
