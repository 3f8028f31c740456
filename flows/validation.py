"""Checking a flow's text as the editor and the API need it: every problem as (line, column,
message) — the messages of `cxbot check` — and, when it is valid, the flow and its version."""

from __future__ import annotations

from dataclasses import dataclass

from flows.loader import FlowLoadError, LoadedFlow, load_text
from flows.safe_yaml import YamlError, read_yaml


@dataclass(frozen=True)
class Problem:
    """One problem in a flow's text; lines and columns count from 1."""

    line: int
    column: int
    message: str


@dataclass(frozen=True)
class Validation:
    """What checking a text found: `loaded` when it is a valid flow, else the problems."""

    problems: tuple[Problem, ...]
    loaded: LoadedFlow | None

    @property
    def ok(self) -> bool:
        """Whether the text can be published."""
        return not self.problems


def validate(source: str, *, flow_id: str | None = None, file: str = "<text>") -> Validation:
    """Check a flow's text (the same passes and messages as `cxbot check`); with `flow_id`,
    the text's `id` must be that flow's."""
    try:
        loaded = load_text(source, file=file)
    except FlowLoadError as exc:
        problems = tuple(Problem(e.line, e.column, e.message) for e in exc.errors)
        return Validation(problems, None)
    if flow_id is not None and loaded.flow.id != flow_id:
        line, column = _position_of_id(source)
        message = f"this is flow '{loaded.flow.id}', not '{flow_id}': the id must stay '{flow_id}'"
        return Validation((Problem(line, column, message),), None)
    return Validation((), loaded)


def _position_of_id(source: str) -> tuple[int, int]:
    try:
        _, positions = read_yaml(source)
    except YamlError:  # pragma: no cover - the text was read once already
        return 1, 1
    found = positions.get(("id",))
    return (found.line, found.column) if found else (1, 1)
