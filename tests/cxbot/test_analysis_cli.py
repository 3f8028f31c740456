"""`cxbot analyze --since DATE [--redo]` and `cxbot worker` as an operator runs them: real
processes on a SQLite file that the service filled with interviews."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from cxbot.cli import main
from cxbot.conversations import ConversationService
from tests.conftest import START, Customer, sqlite_url
from tests.serve_process import until

ROOT = Path(__file__).resolve().parents[2]


def env_for(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CXBOT_DATABASE_URL": sqlite_url(db),
        "CXBOT_LLM_MODEL": "",
        "CXBOT_ANALYSIS_POLL_SECONDS": "0.2",
    }


async def cli(db: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cxbot.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=db.parent, env=env_for(db),
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


async def interviews(customer: Customer, other: Customer) -> None:
    await customer.starts("nps", language="zh")
    await customer.says("3")
    await customer.says("快递太慢了，客服也不回复")
    await other.starts("nps", language="en")
    await other.says("9")
    await other.says("Fast delivery and a kind agent")


async def test_analyze_since_and_redo(
    service: ConversationService, customer: Customer, db_path: Path
) -> None:
    await interviews(customer, Customer(service, "bob"))
    since = (START - timedelta(days=1)).date().isoformat()
    status, out, err = await cli(db_path, "analyze", "--since", since)
    assert status == 0, err
    assert "offline analyzer" in err
    assert out.strip() == "queued 2, analyzed 2, failed 0; waiting 0 (retried later by the worker)"
    assert sorted(rows(db_path, "SELECT source, sentiment FROM answer_analysis")) == [
        ("fallback", "negative"),
        ("fallback", "positive"),
    ]
    status, out, _ = await cli(db_path, "analyze", "--since", since)
    assert out.startswith("queued 0, analyzed 0")  # analyzed already
    status, out, _ = await cli(db_path, "analyze", "--since", since, "--redo")
    assert out.startswith("queued 2, analyzed 2")


def test_a_since_that_is_no_date_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["analyze", "--since", "last week"])
    assert exited.value.code == 2
    assert "'last week' is not a date" in capsys.readouterr().err


async def test_the_worker_analyzes_new_answers_until_stopped(
    service: ConversationService, customer: Customer, db_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cxbot.cli", "worker",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=db_path.parent, env=env_for(db_path),
    )  # fmt: skip
    try:
        await customer.starts("nps", language="zh")
        await customer.says("2")
        await customer.says("退款流程太复杂，等了两个星期")
        found = await until(
            lambda: rows(db_path, "SELECT themes FROM answer_analysis"),
            what="the worker analyzes the new answer",
            within=30,
        )
        assert "refund" in str(found)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, err.decode()
