"""A fake Telegram Bot API server (aiohttp on 127.0.0.1) that records every request.

The real python-telegram-bot client talks to it through `base_url`
(`TELEGRAM_API_BASE_URL=http://127.0.0.1:PORT/bot`). As PTB does, requests are POSTs with
form-encoded bodies whose non-scalar values (reply_markup, allowed_updates) are JSON;
`getMe` comes with an empty body. Answers are `{"ok": true, "result": ...}`; a scripted
failure answers `{"ok": false, "error_code": ..., "parameters": {"retry_after": N}}`.

`hold_next` keeps a call unanswered until `release_holds()` (or `stop()`), so a test can kill
the bot's process while the call is in flight: either the message never got past the door
(`accept=False`: not delivered), or Telegram took it and only the answer is lost
(`accept=True`: delivered, the bot never learns it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {
    "id": 4242,
    "is_bot": True,
    "first_name": "cxbot",
    "username": "cxbot_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    status: int
    at: float
    """time.monotonic() when it arrived."""
    result_id: int | None = None
    """The message_id the fake gave a sent message."""


@dataclass
class Failure:
    """A scripted error answer for the next matching call."""

    method: str
    status: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None


@dataclass
class Hold:
    """A call to keep in flight: the next one of `method` (to `chat_id`, if given)."""

    method: str
    accept: bool
    """True: the message is delivered and only the answer is held back."""
    chat_id: int | None = None
    skip: int = 0
    """Matching calls to let through first."""
    call: Call | None = None
    """The call it caught."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def caught(self, within: float = 10.0) -> Call:
        """Wait until the held call has arrived; the call."""
        await asyncio.wait_for(self.arrived.wait(), within)
        assert self.call is not None
        return self.call


@dataclass
class FakeTelegram:
    """The fake server; `start()` it, point the bot at `base_url`, read `calls`."""

    token: str
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    webhook_url: str = ""
    port: int = 0
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(101))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE_URL should be (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        """Listen on a free loopback port (or on `port` if it is set)."""
        await self.start_on(self.port)

    async def start_on(self, port: int) -> None:
        """Listen on this loopback port (0: any free one)."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Close the server (held calls are let go first)."""
        self.release_holds()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str = "",
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error."""
        description = description or {429: "Too Many Requests: retry after 1"}.get(status, "")
        for _ in range(times):
            self.failures.append(Failure(method, status, description, retry_after, chat_id))

    def hold_next(
        self, method: str, *, accept: bool, chat_id: int | None = None, skip: int = 0
    ) -> Hold:
        """Keep the next call of `method` (to `chat_id`, if given; after `skip` such calls)
        unanswered until `release_holds()`; with `accept` the message is delivered first (the
        answer is what gets lost), without it the call is not counted as delivered (status 0)."""
        hold = Hold(method, accept, chat_id, skip)
        self.holds.append(hold)
        return hold

    def release_holds(self) -> None:
        """Answer every held call (the caller is usually gone by then)."""
        self._released.set()

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (polling mode)."""
        self.updates.append(update)
        self._new_update.set()

    def called(self, method: str, *, ok: bool = True) -> list[Call]:
        """The calls of one method (by default only those that were answered ok)."""
        return [c for c in self.calls if c.method == method and (c.status == 200) == ok]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """The sendMessage calls that succeeded, optionally to one chat."""
        return [
            c
            for c in self.called("sendMessage")
            if chat_id is None or c.params["chat_id"] == chat_id
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """The texts of the messages delivered (to one chat)."""
        return [c.params["text"] for c in self.sent(chat_id)]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = _decode(dict(await request.post()))
        if request.match_info["token"] != self.token:
            self.calls.append(Call(method, params, 401, time.monotonic()))
            return _error(401, "Unauthorized")
        failure = next(
            (
                f
                for f in self.failures
                if f.method == method and f.chat_id in (None, params.get("chat_id"))
            ),
            None,
        )
        if failure is not None:
            self.failures.remove(failure)
            self.calls.append(Call(method, params, failure.status, time.monotonic()))
            return _error(failure.status, failure.description, failure.retry_after)
        hold = next(
            (
                h
                for h in self.holds
                if h.call is None
                and h.method == method
                and h.chat_id in (None, params.get("chat_id"))
            ),
            None,
        )
        if hold is not None and hold.skip > 0:
            hold.skip -= 1
        elif hold is not None:
            return await self._held(hold, method, params)
        call = Call(method, params, 200, time.monotonic())
        self.calls.append(call)
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            call.status = 404
            return _error(404, "Not Found: method not found")
        result = answer(params)
        if method == "sendMessage":
            call.result_id = result["message_id"]
        return _ok(result)

    async def _held(self, hold: Hold, method: str, params: dict[str, Any]) -> web.Response:
        call = hold.call = Call(method, params, 200 if hold.accept else 0, time.monotonic())
        self.calls.append(call)
        result = getattr(self, f"_{method}")(params) if hold.accept else None
        if method == "sendMessage" and result is not None:
            call.result_id = result["message_id"]
        hold.arrived.set()
        await self._released.wait()
        return _ok(result) if hold.accept else _error(502, "Bad Gateway")

    def _getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _sendMessage(self, params: dict[str, Any]) -> Any:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": BOT_USER,
            "text": params["text"],
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        return {
            "message_id": params["message_id"],
            "date": int(time.time()),
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": BOT_USER,
            "text": "(edited)",
        }

    def _answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    def _setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = params["url"]
        return True

    def _deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = ""
        return True

    def _getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0))
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and float(params.get("timeout", 0)) > 0:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=0.5)
            except TimeoutError:
                return []
        return list(self.updates)


INT_PARAMS = {"chat_id", "message_id", "offset", "limit", "timeout", "max_connections"}
JSON_PARAMS = {"reply_markup", "allowed_updates", "entities", "drop_pending_updates"}


def _decode(form: dict[str, Any]) -> dict[str, Any]:
    """Form values as PTB meant them: JSON inside for objects and lists, ints for ids."""
    params: dict[str, Any] = {}
    for key, value in form.items():
        text = str(value)
        if key in JSON_PARAMS:
            params[key] = json.loads(text)
        elif key in INT_PARAMS and text.lstrip("-").isdigit():
            params[key] = int(text)
        else:
            params[key] = text
    return params


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
