"""docs/settings.md and docs/cli.md say what the code does: defaults, variables, `--help`.

tests/test_docs.py checks that every setting and command is mentioned; these check that
what is said about them is right, row by row and block by block.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from cxbot.cli import build_parser, main
from cxbot.settings import Settings
from storage.reachability import explain_failure
from tests.test_docs import code_blocks, read, section, settings_env_names, subcommands

DERIVED_DEFAULTS = {"wechat_mode": "`safe` with an EncodingAESKey, else `plaintext`"}
"""Settings whose default depends on another setting, as the docs word it."""


def settings_rows() -> dict[str, list[str]]:
    """setting name -> the cells of its row in docs/settings.md's tables."""
    rows: dict[str, list[str]] = {}
    for line in read("settings.md").splitlines():
        found = re.fullmatch(r"\| `(\w+)` \|(.*)\|", line)
        if found:
            rows[found[1]] = [cell.strip() for cell in found[2].split(" | ")]
    return rows


def documented_default(name: str) -> str:
    if name in DERIVED_DEFAULTS:
        return DERIVED_DEFAULTS[name]
    value = Settings.model_fields[name].default
    assert value is not PydanticUndefined, f"{name} has no default"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def test_every_documented_setting_exists() -> None:
    assert set(settings_rows()) == set(Settings.model_fields)


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_each_settings_row_has_the_variables_and_default_of_the_code(name: str) -> None:
    variables, default, _meaning = settings_rows()[name]
    assert variables == " or ".join(f"`{env}`" for env in settings_env_names(name))
    expected = documented_default(name)
    assert default == expected or (expected == "none" and default == "unset"), name


def help_blocks() -> list[object]:
    params: list[object] = []
    for lang, body in code_blocks(read("cli.md")):
        command = re.fullmatch(r"\$ cxbot((?: [\w-]+)*) --help", body.splitlines()[0])
        if lang == "console" and command:
            args = command[1].split()
            params.append(pytest.param(args, body, id=" ".join(["cxbot", *args])))
    return params


def test_the_help_of_cxbot_and_cxbot_serve_is_shown() -> None:
    shown = {param.id for param in help_blocks()}  # type: ignore[attr-defined]
    assert {"cxbot", "cxbot serve"} <= shown


@pytest.mark.parametrize(("args", "body"), help_blocks())
def test_the_help_shown_is_what_cxbot_prints(
    args: list[str], body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    parser = build_parser()
    for name in args:
        parser = subcommands(parser)[name]
    assert body.split("\n", 1)[1] == parser.format_help()


def test_the_diagram_example_is_drawn_from_the_flow_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (body,) = [
        body
        for lang, body in code_blocks(read("cli.md"))
        if lang == "console" and body.startswith("$ cxbot diagram ")
    ]
    command, shown = body.split("\n", 1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CXBOT_FLOWS_DIR", raising=False)
    assert main(shlex.split(command)[2:]) == 0
    assert capsys.readouterr().out == shown


def test_the_failure_lines_name_the_cli_s_real_causes() -> None:
    block = section(read("cli.md"), "db")
    lines = [line for line in block.splitlines() if line.startswith("cxbot: ")]
    assert len(lines) == 5
    assert explain_failure(
        "postgresql://cx:s3cret@db/cx",
        'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
        'FATAL:  password authentication failed for user "cx"',
    ) == lines[2].removeprefix("cxbot: ")
