"""The case page's live stream with two `cxbot serve` processes on one database: the agent's
stream comes from one process, the customer's web chat talks to the other, and the
customer's message still reaches the agent (the stream polls the database; an in-process
queue would never hear of it). Then the agent's reply, sent through the first process,
appears in the customer's web chat served by the second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve_process import ServeProcess, until

pytestmark = pytest.mark.backends("sqlite", "postgresql")

TOKEN = "cxbot-stream-test-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


async def case_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The `case` events of an open stream, as JSON."""
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: ") and event == "case":
            yield json.loads(line[len("data: ") :])


async def test_the_stream_sees_what_another_process_stored(tmp_path: Path, db_url: str) -> None:
    env = {
        "CXBOT_DATABASE_URL": db_url,
        "CXBOT_API_TOKEN": TOKEN,
        "CXBOT_DESK_POLL_SECONDS": "0.2",
        "CXBOT_FLOW_RELOAD_SECONDS": "0",
    }
    desk_side = ServeProcess(env, tmp_path / "serve-desk.log")
    chat_side = ServeProcess(env, tmp_path / "serve-chat.log")
    try:
        await desk_side.ready()
        await chat_side.ready()
        async with (
            httpx.AsyncClient(base_url=chat_side.url, timeout=10) as web,
            httpx.AsyncClient(base_url=desk_side.url, timeout=10, headers=HEADERS) as api,
        ):
            await web.get("/chat/nps?lang=zh")
            bodies = ({"start": True}, {"text": "1"}, {"text": "太差了，客服一直不回消息"})
            for n, body in enumerate(bodies):
                sent = await web.post(
                    "/chat/nps/messages", json={**body, "client_id": f"stream-{n:04d}"}
                )
                assert sent.status_code == 200, sent.text
            listed = await until(lambda: _listed(api), what="the case is in the queue", within=10)
            assert listed[0]["id"] == 1
            async with api.stream("GET", "/admin/escalations/1/events?after=0") as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                events = case_events(stream)
                first = await asyncio.wait_for(anext(events), 10)
                assert first["status"] == "open"
                assert first["lines"][-1]["author"] == "bot"
                said = await web.post(
                    "/chat/nps/messages", json={"text": "有人吗？", "client_id": "stream-0100"}
                )
                assert said.json()["messages"] == []  # the bot stays quiet: an agent's case
                news = await asyncio.wait_for(anext(events), 10)
                assert news["lines"][-1]["text"] == "有人吗？"
                assert news["lines"][-1]["direction"] == "in"
            reply = await api.post("/api/v1/escalations/1/reply", json={"text": "在的，您好！"})
            assert reply.json()["state"] == "sent"
            history = (await web.get("/chat/nps/messages?after=0")).json()
            assert history["messages"][-1]["text"] == "在的，您好！"
            assert history["messages"][-1]["author"] == "agent"
    finally:
        desk_side.stop()
        chat_side.stop()


async def _listed(api: httpx.AsyncClient) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = (await api.get("/api/v1/escalations")).json()["escalations"]
    return found or None
