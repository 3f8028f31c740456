"""The `cxbot` command run as a user runs it: a subprocess with its own database."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from flows.registry import BUILTIN_DIR

ROOT = Path(__file__).resolve().parents[2]

STORE_VISIT = """\
id: store_visit
name: {zh: 门店体验, en: Store visit}
touchpoint: in_store
journey_stage: purchase
languages: [zh, en]
default_language: en
steps:
  - id: rate_visit
    type: scale
    metric: csat
    range: [1, 5]
    save_as: rating
    text:
      zh: 您对这次到店满意吗？
      en: How was your visit to our store today?
    next: bye
  - id: bye
    type: end
    text: {zh: 谢谢！, en: "Thanks, see you soon!"}
"""


def cxbot(
    tmp_path: Path, *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CXBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db' / 'cli.db'}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CXBOT_FLOWS_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "cxbot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or tmp_path,
        timeout=120,
        check=False,
    )


def query(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "db" / "cli.db") as db:
        return db.execute(sql).fetchall()


def test_check_passes_on_the_shipped_flows(tmp_path: Path) -> None:
    result = cxbot(tmp_path, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    for flow_id in ("nps", "ces", "csat"):
        assert f"ok (flow '{flow_id}'" in result.stdout
    explicit = cxbot(tmp_path, "check", str(BUILTIN_DIR / "nps.yaml"))
    assert explicit.returncode == 0
    assert explicit.stdout.count(": ok") == 1


def test_check_reports_file_line_col_for_broken_files(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "good.yaml").write_text(STORE_VISIT, encoding="utf-8")
    typo_text = STORE_VISIT.replace(
        "    save_as: rating\n", "    save_as: rating\n    colour: red\n"
    )
    (folder / "typo.yaml").write_text(typo_text, encoding="utf-8")
    colour_line = typo_text.splitlines().index("    colour: red") + 1
    (folder / "syntax.yaml").write_text("id: x\nsteps: [\n  - oops\n", encoding="utf-8")
    result = cxbot(tmp_path, "check", str(folder))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{folder / 'good.yaml'}: ok (flow 'store_visit', version" in lines[0]
    typo = [line for line in lines if line.startswith(f"{folder / 'typo.yaml'}:")]
    assert typo == [f"{folder / 'typo.yaml'}:{colour_line}:5: unknown key 'colour'"]
    syntax = [line for line in lines if line.startswith(f"{folder / 'syntax.yaml'}:")]
    assert len(syntax) == 1
    assert re.fullmatch(rf"{re.escape(str(folder / 'syntax.yaml'))}:\d+:\d+: .+", syntax[0])
    assert "syntax" in syntax[0].lower()
    assert "2 of 3 flow files have errors" in result.stderr


def test_check_says_so_when_there_is_nothing_to_check(tmp_path: Path) -> None:
    result = cxbot(tmp_path, "check", str(tmp_path))
    assert result.returncode == 2
    assert "no flow files" in result.stderr


def test_chat_promoter_path_in_english(tmp_path: Path) -> None:
    result = cxbot(tmp_path, "chat", "nps", "--lang", "en", stdin="ten\nThe staff were lovely\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bot> Hi! How likely are you to recommend us to a friend or colleague?" in out
    assert "you> ten" in out
    assert "bot> Wonderful! What did you like most?" in out
    assert "bot> Thank you for your feedback. Have a great day!" in out
    assert "event interview-completed" in out
    assert "escalation" not in out
    assert query(tmp_path, "SELECT metric, score, text, language, channel FROM answer") == [
        ("nps", 10, None, "en", "cli"),
        (None, None, "The staff were lovely", "en", "cli"),
    ]
    assert query(tmp_path, "SELECT status FROM conversation") == [("completed",)]
    directions = query(tmp_path, "SELECT direction FROM message ORDER BY id")
    assert [d for (d,) in directions] == ["in", "out"] * 3


def test_chat_re_asks_an_unreadable_score(tmp_path: Path) -> None:
    result = cxbot(tmp_path, "chat", "nps", "--lang", "en", stdin="dunno\n8\nskip\n")
    assert result.returncode == 0, result.stderr
    assert "Please reply with a number from 0 to 10" in result.stdout
    assert "What one thing would make it a higher score?" in result.stdout
    assert query(tmp_path, "SELECT score FROM answer WHERE score IS NOT NULL") == [(8,)]


def test_chat_with_a_flow_file(tmp_path: Path) -> None:
    flow = tmp_path / "store_visit.yaml"
    flow.write_text(STORE_VISIT, encoding="utf-8")
    result = cxbot(tmp_path, "chat", str(flow), stdin="4\n")
    assert result.returncode == 0, result.stderr
    assert "bot> How was your visit to our store today?" in result.stdout
    assert "bot> Thanks, see you soon!" in result.stdout
    assert query(tmp_path, "SELECT flow_id, metric, score, scale_low, scale_high FROM answer") == [
        ("store_visit", "csat", 4, 1, 5)
    ]
    assert query(tmp_path, "SELECT flow_id FROM flowversion") == [("store_visit",)]


def test_chat_with_a_broken_flow_file_exits_with_its_errors(tmp_path: Path) -> None:
    flow = tmp_path / "broken.yaml"
    flow.write_text(STORE_VISIT.replace("next: bye", "next: nowhere"), encoding="utf-8")
    result = cxbot(tmp_path, "chat", str(flow), stdin="4\n")
    assert result.returncode == 1
    assert f"{flow}:" in result.stderr
    assert "nowhere" in result.stderr
    assert "bot>" not in result.stdout


def test_chat_with_an_unknown_flow_id(tmp_path: Path) -> None:
    result = cxbot(tmp_path, "chat", "no_such_flow", stdin="")
    assert result.returncode == 2
    assert "no flow 'no_such_flow'" in result.stderr
    assert "nps" in result.stderr


def test_db_upgrade_creates_the_schema_in_a_new_folder(tmp_path: Path) -> None:
    result = cxbot(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    tables = {name for (name,) in query(tmp_path, "SELECT name FROM sqlite_master")}
    assert {"conversation", "message", "answer", "escalation", "alembic_version"} <= tables
    assert query(tmp_path, "PRAGMA journal_mode") == [("wal",)]
    assert cxbot(tmp_path, "db", "upgrade").returncode == 0  # idempotent


def test_schema_prints_json_schema_with_every_step_kind(tmp_path: Path) -> None:
    result = cxbot(tmp_path, "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert "steps" in schema["properties"]
    kinds = {
        definition["properties"]["type"].get("const")
        for definition in schema["$defs"].values()
        if "type" in definition.get("properties", {})
    }
    assert {"message", "scale", "choice", "open", "end", "handoff"} <= kinds


@pytest.mark.parametrize("command", [["nope"], ["db"], []])
def test_bad_usage_exits_2(tmp_path: Path, command: list[str]) -> None:
    result = cxbot(tmp_path, *command)
    assert result.returncode == 2
    assert "usage: cxbot" in result.stderr


def cxbot_with_database(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CXBOT_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "cxbot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def test_a_database_url_that_is_no_url_is_explained_without_a_traceback(tmp_path: Path) -> None:
    result = cxbot_with_database(tmp_path, "bogus", "db", "upgrade")
    assert result.returncode == 2
    assert "CXBOT_DATABASE_URL 'bogus' is not a database URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_database_driver_is_explained_and_the_password_hidden(tmp_path: Path) -> None:
    result = cxbot_with_database(
        tmp_path, "postgresql+nosuchdriver://cx:s3cret@db.example/cx", "db", "upgrade"
    )
    assert result.returncode == 2
    assert "cannot use database postgresql+nosuchdriver://cx:***@db.example/cx" in result.stderr
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr
