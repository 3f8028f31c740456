"""Every option and argument of every `cxbot` command says what it is for in `--help`."""

from __future__ import annotations

import argparse

import pytest

from cxbot.cli import build_parser
from tests.test_docs import subcommands


def all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """(`cxbot serve`, parser) for the top level and every command and sub-command."""
    found = [("cxbot", build_parser())]
    for name, parser in found:  # grows while it is walked
        found.extend((f"{name} {sub}", child) for sub, child in subcommands(parser).items())
    return found


def arguments() -> list[object]:
    return [
        pytest.param(action, id=f"{name} {'/'.join(action.option_strings) or action.dest}")
        for name, parser in all_parsers()
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
    ]


def test_every_command_is_walked() -> None:
    names = {name for name, _ in all_parsers()}
    assert {"cxbot serve", "cxbot demo", "cxbot db upgrade", "cxbot diagram"} <= names


@pytest.mark.parametrize("action", arguments())
def test_every_option_has_help(action: argparse.Action) -> None:
    assert action.help and action.help.strip() and action.help != argparse.SUPPRESS
