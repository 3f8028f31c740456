"""The analysis queue survives a killed server: `cxbot serve` claims the job for an open
answer and calls the model (the fake holds the call), is killed with SIGKILL mid-call, and
the next process takes the job over when its lease runs out and stores the model's reading.
No sleep decides anything: every wait polls for an outcome with a deadline."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import sqlite_url
from tests.fakes.openai_api import FakeOpenAI, Fault
from tests.serve_process import ServeProcess, until

_ids = itertools.count(1)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = await FakeOpenAI().start()
    yield server
    await server.stop()


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


async def test_a_job_held_by_a_killed_server_is_finished_by_the_next(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    db = tmp_path / "cxbot.db"
    env = {
        "CXBOT_DATABASE_URL": sqlite_url(db),
        "OPENAI_API_KEY": fake.api_key,
        "OPENAI_BASE_URL": fake.base_url,
        "CXBOT_LLM_MODEL": "fake-model",
        "CXBOT_LLM_TIMEOUT_SECONDS": "2",
        "CXBOT_LLM_MAX_RETRIES": "0",
        "CXBOT_ANALYSIS_POLL_SECONDS": "0.2",
        "CXBOT_FLOW_RELOAD_SECONDS": "0",
        "CXBOT_SECRET_KEY": "k" * 8 + "abcdefghijklmnopqrstuvwxyz0123456789",
    }
    fake.faults = [Fault(hang=60.0)]  # the first call (the answer's analysis) hangs
    first = ServeProcess(env, tmp_path / "first.log")
    try:
        await first.ready()
        async with httpx.AsyncClient(base_url=first.url, timeout=10) as client:
            await client.get("/chat/nps")
            for text in (None, "9", "the delivery was late and the staff were rude"):
                body = {
                    "client_id": f"restart-{next(_ids):06d}",  # one id per message (dedupe)
                    **({"start": True} if text is None else {"text": text}),
                }
                assert (await client.post("/chat/nps/messages", json=body)).status_code == 200
        await until(lambda: fake.requests, what="the first server calls the model")
        assert rows(db, "SELECT kind, state FROM analysis_job") == [("answer", "working")]
        first.kill()
    finally:
        first.stop()
    killed = time.monotonic()
    second = ServeProcess(env, tmp_path / "second.log")
    try:
        await second.ready()
        found = await until(
            lambda: rows(db, "SELECT source, model, themes FROM answer_analysis"),
            what="the second server finishes the job",
            within=30,
        )
        print(f"\nanalysis stored {time.monotonic() - killed:.1f}s after the kill")
        assert found == [("model", "fake-model", '["delivery", "staff"]')]
        assert rows(db, "SELECT state, attempts FROM analysis_job") == [("done", 2)]
    finally:
        second.stop()
