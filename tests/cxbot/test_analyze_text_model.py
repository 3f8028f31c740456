"""`cxbot analyze-text` with a model configured reads each answer with it (the real command,
the real client, the fake endpoint; tokens counted in the database's daily budget; without one,
test_analyze_text.py runs the offline command); CXBOT_THEMES_FILE extends the app's themes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cxbot.intelligence import theme_book
from tests.conftest import sqlite_url
from tests.fakes.openai_api import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = await FakeOpenAI().start()
    yield server
    await server.stop()


async def analyze_text(env: dict[str, str], lines: str, cwd: Path) -> list[dict[str, object]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cxbot.cli",
        "analyze-text",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    out, err = await asyncio.wait_for(process.communicate(lines.encode()), timeout=60)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_the_command_reads_with_the_model_when_configured(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    db = tmp_path / "cxbot.db"
    env = {
        "CXBOT_DATABASE_URL": sqlite_url(db),
        "OPENAI_API_KEY": fake.api_key,
        "OPENAI_BASE_URL": fake.base_url,
        "CXBOT_LLM_MODEL": "fake-model",
    }
    rows = await analyze_text(env, "客服态度太差\nthe price is fine\n", tmp_path)
    assert rows == [
        {"themes": ["staff"], "sentiment": "negative"},
        {"themes": ["price"], "sentiment": "neutral"},
    ]
    assert fake.schemas() == ["answer_analysis", "answer_analysis"]
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT model, calls FROM model_usage").fetchall() == [
            ("fake-model", 2)
        ]


def test_an_admins_themes_file_extends_the_book(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text("warranty: {label_zh: 保修, label_en: Warranty, words: [保修]}\n", "utf-8")
    assert theme_book(path).get("warranty") is not None
    path.write_text("warranty: [not, a, mapping]\n", "utf-8")
    with caplog.at_level(logging.ERROR):
        book = theme_book(path)
    assert book.get("warranty") is None and book.get("delivery") is not None
    assert "not used" in caplog.text
