"""Publishing reaches every process without a restart: two `cxbot serve` processes on one
database; a flow published through one's API (and then with `cxbot flows publish`, a third
process) is what the other's next web chat interview asks, while an interview already
running there stays on the version it started with. `cxbot flows export` gives the
published bytes back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.registry import BUILTIN_DIR
from tests.serve_process import ROOT, ServeProcess, until

pytestmark = pytest.mark.backends("sqlite", "postgresql")

TOKEN = "cxbot-flow-pickup-token-0123456789"
NPS = (BUILTIN_DIR / "nps.yaml").read_text(encoding="utf-8")
POLL = 0.2


def wording(text: str) -> str:
    return NPS.replace("您好！", f"您好{text}！").replace("很抱歉让您失望了。", f"抱歉{text}。")


class WebChat:
    """One visitor of a server's web chat."""

    def __init__(self, url: str, name: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=10)
        self.name = name
        self.sent = 0

    async def say(self, body: dict[str, object]) -> list[str]:
        if self.sent == 0:
            await self.http.get("/chat/nps?lang=zh")
        self.sent += 1
        answer = await self.http.post(
            "/chat/nps/messages", json={**body, "client_id": f"{self.name}-{self.sent:04d}"}
        )
        assert answer.status_code == 200, answer.text
        return [m["text"] for m in answer.json()["messages"]]


async def first_question(url: str, name: str) -> str:
    chat = WebChat(url, name)
    async with chat.http:
        return (await chat.say({"start": True}))[0]


def flows_cli(tmp_path: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "CXBOT_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "cxbot.cli", "flows", *args],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


async def test_a_publication_reaches_the_other_server_without_a_restart(
    tmp_path: Path, db_url: str
) -> None:
    env = {
        "CXBOT_DATABASE_URL": db_url,
        "CXBOT_API_TOKEN": TOKEN,
        "CXBOT_FLOW_POLL_SECONDS": str(POLL),
        "CXBOT_FLOW_RELOAD_SECONDS": "0",
    }
    editor_side = ServeProcess(env, tmp_path / "serve-editor.log")
    chat_side = ServeProcess(env, tmp_path / "serve-chat.log")
    early = WebChat(chat_side.url, "early")
    try:
        await asyncio.gather(editor_side.ready(), chat_side.ready())
        assert (await early.say({"start": True}))[0].startswith("您好！")
        async with httpx.AsyncClient(
            base_url=editor_side.url, timeout=10, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as api:
            published = await api.post(
                "/api/v1/flows/nps/publish", json={"source": wording("（新）")}
            )
        assert published.status_code == 201, published.text
        at = time.monotonic()
        names = iter(range(1000))

        async def asks_the_new_wording() -> bool:
            question = await first_question(chat_side.url, f"late{next(names)}")
            return question.startswith("您好（新）！")

        await until(asks_the_new_wording, what="the other server asks the new wording", within=10)
        picked_up = time.monotonic() - at
        # the interview that started before stays on its version
        assert (await early.say({"text": "3"}))[0].startswith("很抱歉让您失望了。")

        # `cxbot flows publish` from a third process; the files' bytes come back out
        own = tmp_path / "nps.yaml"
        own.write_bytes(wording("（命令行）").replace("\n", "\r\n").encode("utf-8"))
        done = await asyncio.to_thread(flows_cli, tmp_path, db_url, "publish", str(own))
        assert done.returncode == 0, done.stderr
        # the next revision after the API's (two servers starting at once on an empty database
        # may both publish the shipped file first, so the number itself is not fixed)
        after_api = published.json()["revision"]
        assert f"revision {after_api + 1} ".encode() in done.stdout, done.stdout
        for url in (editor_side.url, chat_side.url):

            async def asks_the_cli_wording(url: str = url) -> bool:
                question = await first_question(url, f"cli{next(names)}")
                return question.startswith("您好（命令行）！")

            await until(asks_the_cli_wording, what="the servers ask the CLI's wording", within=10)
        exported = await asyncio.to_thread(flows_cli, tmp_path, db_url, "export", "nps")
        assert exported.stdout == own.read_bytes()
        print(f"picked up by the other server after {picked_up:.2f} s (poll every {POLL} s)")
        assert picked_up < 5
    finally:
        await early.http.aclose()
        editor_side.stop()
        chat_side.stop()
