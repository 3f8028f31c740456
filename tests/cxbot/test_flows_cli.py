"""`cxbot flows …` in process (the subprocess run is in test_flow_pickup.py): list, show,
export byte for byte, publish (again: nothing), rollback, retire, and the errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cxbot.cli import main
from flows.registry import BUILTIN_DIR
from tests.conftest import sqlite_url

NPS = (BUILTIN_DIR / "nps.yaml").read_bytes()
Run = Callable[..., tuple[int, str, str, bytes]]
"""`cxbot flows ARGS` -> (exit status, stdout, stderr, stdout's bytes)."""


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> Run:
    monkeypatch.setenv("CXBOT_DATABASE_URL", sqlite_url(tmp_path / "cli.db"))
    monkeypatch.delenv("CXBOT_FLOWS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)

    def cxbot_flows(*args: str) -> tuple[int, str, str, bytes]:
        code = main(["flows", *args])
        out, err = capsysbinary.readouterr()
        return code, out.decode("utf-8"), err.decode("utf-8"), out

    return cxbot_flows


def test_publish_list_show_export_rollback(run: Run, tmp_path: Path) -> None:
    code, out, _, _ = run("list")
    assert code == 0 and out.startswith("no published flows yet")
    own = tmp_path / "nps.yaml"
    own.write_bytes(b"\xef\xbb\xbf" + NPS.replace(b"\n", b"\r\n"))  # a BOM and CRLF lines
    code, out, err, _ = run("publish", str(own))
    assert code == 0, err
    assert out.startswith(f"{own}: flow nps revision 1 (version ")
    assert run("publish", str(own))[1].endswith("is already the current one\n")
    own.write_bytes(NPS.replace("您好！".encode(), "您好呀！".encode()))
    assert "revision 2" in run("publish", str(own))[1]
    code, out, _, _ = run("list")
    [line] = out.splitlines()
    assert line.split("\t")[:3] == ["nps", "published", "2"]
    assert line.endswith(f"cli {own}")
    assert run("export", "nps")[3] == own.read_bytes()
    assert run("export", "nps", "--revision", "1")[3] == b"\xef\xbb\xbf" + NPS.replace(
        b"\n", b"\r\n"
    )
    code, out, _, _ = run("rollback", "nps", "1")
    assert code == 0 and out.startswith("flow nps revision 3 published (the text of revision 1")
    code, out, _, _ = run("show", "nps")
    assert out.splitlines()[0] == "nps: published"
    assert [line.split("\t")[0].strip() for line in out.splitlines()[1:]] == ["3", "2", "1"]
    assert "(restores 1)" in out.splitlines()[1]
    code, out, _, raw = run("show", "nps", "--revision", "2")
    assert out.startswith("# nps revision 2, version ") and raw.endswith(own.read_bytes())
    version = out.split("version ")[1].split(",")[0]
    assert run("show", "nps", "--version", version)[3].endswith(own.read_bytes())
    code, out, _, _ = run("retire", "nps")
    assert code == 0 and "retired" in out
    assert run("list")[1].split("\t")[1] == "retired"


def test_errors_are_one_line_and_status_1(run: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(NPS.replace(b"goto: why_low", b"goto: why_lowx"))
    code, out, err, _ = run("publish", str(broken))
    assert code == 1
    assert out.splitlines()[0].startswith(f"{broken}:37:9: 'next' points to 'why_lowx'")
    assert err == "1 of 1 flow files have errors\n"
    assert run("publish", str(tmp_path / "missing.yaml"))[0] == 1
    for args, message in (
        (("show", "nope"), "cxbot: no flow 'nope'\n"),
        (("export", "nope"), "cxbot: no flow 'nope'\n"),
        (("rollback", "nope", "1"), "cxbot: flow 'nope' has no revision 1\n"),
        (("retire", "nope"), "cxbot: no published flow 'nope'\n"),
    ):
        code, _, err, _ = run(*args)
        assert (code, err) == (1, message)
