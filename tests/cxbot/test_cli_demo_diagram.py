"""`cxbot demo` keeps to its own database file; `cxbot diagram` takes a flow id or a file."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cxbot.cli import main
from flows.diagram import mermaid
from flows.loader import load_file
from flows.registry import BUILTIN_DIR
from tests.conftest import free_port
from tests.cxbot.test_cli import STORE_VISIT

ROOT = Path(__file__).resolve().parents[2]


def test_demo_writes_its_own_file_and_says_which(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    for name in ("CXBOT_DATABASE_URL", "CXBOT_DEMO_DATABASE_URL", "CXBOT_FLOWS_DIR"):
        env.pop(name, None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "cxbot.cli", "demo", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert demo.stdout is not None
        lines = [demo.stdout.readline() for _ in range(3)]
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    assert lines[0] == f"demo data: 150 sample interviews added to {tmp_path / 'cxbot-demo.db'}\n"
    name, password = re.fullmatch(
        r"admin pages: sign in at /admin as (\S+) with password (\S+) "
        r"\(a new one each time the demo starts\)\n",
        lines[1],
    ).groups()  # type: ignore[union-attr]
    assert lines[2].startswith("cxbot serving on http://127.0.0.1:")
    assert not (tmp_path / "cxbot.db").exists()  # where `serve` and `chat` keep real data
    with sqlite3.connect(tmp_path / "cxbot-demo.db") as db:
        assert db.execute("SELECT count(*) FROM conversation").fetchone() == (150,)
        ((role, stored),) = db.execute(
            "SELECT role, password_hash FROM admin_user WHERE name = ?", (name,)
        ).fetchall()
    assert role == "admin" and password not in stored
    assert PasswordHasher().verify(stored, password)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no .env, and no flow folder from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CXBOT_FLOWS_DIR", raising=False)
    return tmp_path


def test_diagram_of_a_shipped_flow_by_its_id(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "nps", "--lang", "en"]) == 0
    flow = load_file(BUILTIN_DIR / "nps.yaml").flow
    assert capsys.readouterr().out == mermaid(flow, language="en")


def test_diagram_by_id_finds_flows_in_the_flows_folder(
    cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / "flows").mkdir()
    (cwd / "flows" / "visit.yaml").write_text(STORE_VISIT, encoding="utf-8")
    monkeypatch.setenv("CXBOT_FLOWS_DIR", str(cwd / "flows"))
    assert main(["diagram", "store_visit"]) == 0
    assert 'rate_visit["rate_visit (scale): How was your visit' in capsys.readouterr().out


def test_diagram_of_a_file_still_works(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", str(BUILTIN_DIR / "csat.yaml")]) == 0
    assert capsys.readouterr().out == mermaid(load_file(BUILTIN_DIR / "csat.yaml").flow)


def test_diagram_of_an_unknown_flow_id(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "nsp"]) == 2
    assert capsys.readouterr().err == "no flow 'nsp' (known: ces, csat, nps)\n"
