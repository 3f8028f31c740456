"""A small OpenAI-compatible endpoint on 127.0.0.1 for the real `openai` client.

`POST /v1/chat/completions` answers like the real API: a `chat.completion` object whose
message content is JSON matching the request's `response_format` json_schema, with token
usage. What it answers comes from `respond(schema_name, request_json)` (a plain function the
test may replace: a gullible model that obeys text in the customer's answer is one), or from
a script of faults for the next requests: an error status (429 with Retry-After, 500, 401), a
hang longer than the client's timeout, malformed JSON in the content, a body that is not
JSON at all. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Respond = Callable[[str, dict[str, Any]], dict[str, Any]]


def customer_data(request: dict[str, Any]) -> dict[str, Any]:
    """The JSON document cxbot put in the user message."""
    users = [m for m in request["messages"] if m["role"] == "user"]
    return dict(json.loads(users[-1]["content"]))


def sensible(schema: str, request: dict[str, Any]) -> dict[str, Any]:
    """A plausible model: labels by a few words, summarizes and probes in the language."""
    data = customer_data(request)
    if schema == "answer_analysis":
        answer = str(data.get("answer", ""))
        themes = [
            key
            for key, words in {
                "delivery": ("快递", "物流", "delivery", "shipping"),
                "staff": ("客服", "态度", "staff", "rude"),
                "price": ("贵", "价格", "price", "expensive"),
            }.items()
            if any(w in answer.lower() for w in words)
        ]
        vague = len(answer.strip()) <= 4 and not themes
        negative = any(w in answer.lower() for w in ("慢", "差", "不好", "bad", "slow", "rude"))
        return {
            "themes": themes,
            "sentiment": "negative" if negative else "neutral",
            "vague": vague,
        }
    if schema == "escalation_summary":
        return {"summary": "MODEL: customer unhappy; wants a call back"}
    if schema == "probe":
        chinese = any("\u4e00" <= ch <= "\u9fff" for ch in str(data.get("answer", "")))
        return {
            "question": "MODEL: 能具体说说哪里不好吗？"
            if chinese
            else "MODEL: What exactly went wrong?"
        }
    raise AssertionError(f"unknown schema {schema}")


@dataclass
class Fault:
    """What to do instead of answering, once."""

    status: int | None = None
    """An error status with an OpenAI-style error body."""
    retry_after: float | None = None
    hang: float | None = None
    """Seconds to wait before answering (longer than the client's timeout: a timeout)."""
    content: str | None = None
    """Raw message content (malformed JSON, JSON off the schema)."""
    body: str | None = None
    """A raw response body (not JSON at all)."""


@dataclass
class FakeOpenAI:
    """The endpoint; `base_url` goes to OPENAI_BASE_URL."""

    api_key: str = "sk-test-key"
    respond: Respond = sensible
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 50
    completion_tokens: int = 10
    _runner: web.AppRunner | None = None
    _port: int = 0
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._stopping.set()  # a held call ends now, not when its hang would
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def schemas(self) -> list[str]:
        """The schema name of each request so far."""
        return [r["response_format"]["json_schema"]["name"] for r in self.requests]

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_api_key", "Incorrect API key provided")
        body = await request.json()
        self.requests.append(body)
        fault = self.faults.pop(0) if self.faults else None
        if fault is not None and fault.hang is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), fault.hang)
        if fault is not None and fault.status is not None:
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            return _error(fault.status, "rate_limit_exceeded", "slow down", headers)
        if fault is not None and fault.body is not None:
            return web.Response(text=fault.body, content_type="application/json")
        response_format = body.get("response_format") or {}
        if response_format.get("type") != "json_schema":
            return _error(400, "invalid_request_error", "response_format json_schema expected")
        schema = response_format["json_schema"]["name"]
        content = (
            fault.content
            if fault is not None and fault.content is not None
            else json.dumps(self.respond(schema, body), ensure_ascii=False)
        )
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_764_000_000,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": self.prompt_tokens,
                    "completion_tokens": self.completion_tokens,
                    "total_tokens": self.prompt_tokens + self.completion_tokens,
                },
            }
        )


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": code, "param": None, "code": code}},
        status=status,
        headers=headers,
    )
