"""`cxbot analyze-text`: answers on stdin, one JSON object per line out."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cxbot.analyze_text import analyze_lines
from cxbot.cli import main
from flows.analysis import TextAnalysis


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, *args: str
) -> tuple[int, list[dict[str, object]], str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    status = main(["analyze-text", *args])
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_one_json_object_per_line_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, rows, _ = run_cli(
        monkeypatch, capsys, "快递太慢了，客服也不理人\n\nnot bad at all\r\n服務很好\n"
    )
    assert status == 0
    assert rows == [
        {"themes": ["delivery", "staff"], "sentiment": "negative"},
        {"themes": [], "sentiment": "neutral"},
        {"themes": [], "sentiment": "positive"},
        {"themes": ["staff"], "sentiment": "positive"},
    ]


def test_vague_is_added_on_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, rows, _ = run_cli(monkeypatch, capsys, "meh\nthe app crashes at login\n", "--vague")
    assert [row["vague"] for row in rows] == [True, False]


def test_an_admin_s_theme_file_extends_the_themes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    themes = tmp_path / "themes.yaml"
    themes.write_text(
        "warranty:\n  label_zh: 保修\n  label_en: Warranty\n  words: [保修, warranty]\n",
        encoding="utf-8",
    )
    _, rows, _ = run_cli(monkeypatch, capsys, "保修期太短了\n", "--themes", str(themes))
    assert rows[0]["themes"] == ["warranty"]


@pytest.mark.parametrize(
    "content", ["warranty: {words: [保修]}\n", "- a list\n", "delivery: [\n", None]
)
def test_a_bad_theme_file_is_one_line_on_stderr_and_status_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: str | None,
) -> None:
    themes = tmp_path / "themes.yaml"
    if content is not None:
        themes.write_text(content, encoding="utf-8")
    status, rows, err = run_cli(monkeypatch, capsys, "快递太慢\n", "--themes", str(themes))
    assert status == 2 and rows == []
    assert err.count("\n") == 1 and str(themes) in err and "Traceback" not in err


def test_another_analyzer_can_be_plugged_in() -> None:
    def model(text: str) -> TextAnalysis:
        return TextAnalysis(("price",), "negative", vague=False)

    assert (
        list(analyze_lines(["太贵", "x"], model))
        == ['{"themes": ["price"], "sentiment": "negative"}'] * 2
    )


def test_the_installed_command_reads_stdin_as_utf8_and_prints_nothing_else() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "cxbot.cli", "analyze-text"],
        input="價格太貴了\n".encode(),
        capture_output=True,
        check=True,
        env={"PYTHONIOENCODING": "utf-8", "PATH": ""},
    )
    assert json.loads(completed.stdout) == {"themes": ["price"], "sentiment": "negative"}
    assert completed.stderr == b""
