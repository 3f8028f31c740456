"""`cxbot chat` scripted through stdin, as the README shows it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def run_chat(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CXBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "cxbot.cli", "chat", *args],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_detractor_path_in_chinese_ends_with_an_escalation(tmp_path: Path) -> None:
    result = run_chat(tmp_path, "3\n服务太慢了\n", "nps", "--lang", "zh")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "您有多大可能把我们推荐给朋友或同事" in out
    assert "最让您不满意的是什么" in out
    assert "event escalation-requested reason=detractor priority=high" in out
    assert out.index("最让您不满意") < out.index("客服同事会尽快")

    with sqlite3.connect(tmp_path / "chat.db") as db:
        answers = db.execute("SELECT variable, score, text FROM answer ORDER BY id").fetchall()
        escalations = db.execute("SELECT reason, priority, status FROM escalation").fetchall()
        status = db.execute("SELECT status FROM conversation").fetchall()
    assert answers == [("score", 3, None), ("reason", None, "服务太慢了")]
    assert escalations == [("detractor", "high", "open")]
    assert status == [("handed_off",)]
