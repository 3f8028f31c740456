"""What the flow studio shows beside the editor, computed from the text being edited:
the problems (`line:col` messages, the same as `cxbot check`), the side-by-side texts with
missing translations flagged, the Mermaid diagram, and the diff against the published text.

Pure functions of the text (no storage, no clock): the editor calls them on every pause in
typing, so a draft that does not load yet still gets as much as can be read from it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from flows.checks import texts_of, where_in
from flows.diagram import mermaid
from flows.model import Flow
from flows.safe_yaml import Path_, Position, YamlError, read_yaml
from flows.validation import validate

MAX_DIFF_LINES = 4000
"""A diff longer than this is cut (the rest is summarized), so a page never gets huge."""


@dataclass(frozen=True)
class Problem:
    """One error in the text, where the editor marks it."""

    line: int
    col: int
    message: str

    def as_json(self) -> dict[str, Any]:
        """`{line, col, message}`, the validate endpoint's shape."""
        return {"line": self.line, "col": self.col, "message": self.message}


@dataclass(frozen=True)
class TextRow:
    """One text of the flow in every language, and the languages it still lacks."""

    where: str
    """Readable place: `name`, `step 'why_low'`, `step 'ask_score', labels.min`."""
    line: int
    texts: dict[str, str]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    """Everything the studio shows for one text."""

    version: str | None
    """The text's version hash when it loads without error, else None."""
    problems: tuple[Problem, ...]
    languages: tuple[str, ...] = ()
    texts: tuple[TextRow, ...] = ()
    diagrams: dict[str, str] = field(default_factory=dict)
    """Mermaid source per language of the flow."""
    steps: int = 0

    def as_json(self) -> dict[str, Any]:
        """The preview endpoint's answer."""
        return {
            "ok": not self.problems,
            "version": self.version,
            "errors": [p.as_json() for p in self.problems],
            "languages": list(self.languages),
            "texts": [
                {"where": r.where, "line": r.line, "texts": r.texts, "missing": list(r.missing)}
                for r in self.texts
            ],
            "diagrams": self.diagrams,
            "steps": self.steps,
        }


def _shape(source: str) -> tuple[Flow, dict[Path_, Position]] | None:
    """The flow's models when the text has the right shape (links, translations unchecked)."""
    try:
        data, positions = read_yaml(source)
        return Flow.model_validate(data), positions
    except (YamlError, ValidationError, TypeError, ValueError):
        return None


def _line(positions: dict[Path_, Position], path: Path_) -> int:
    while path and path not in positions:
        path = path[:-1]
    return positions.get(path, Position(1, 1)).line


def text_rows(flow: Flow, positions: dict[Path_, Position]) -> tuple[TextRow, ...]:
    """Every text with its translations side by side; a plain string counts for every
    language only in a one-language flow."""
    rows = []
    for path, text in texts_of(flow):
        if isinstance(text, str):
            texts = {language: text for language in flow.languages[:1]}
        else:
            texts = {language: value for language, value in text.items()}
        missing = tuple(lang for lang in flow.languages if not texts.get(lang, "").strip())
        rows.append(TextRow(where_in(flow, path), _line(positions, path), texts, missing))
    return tuple(rows)


def preview(source: str, *, flow_id: str | None = None, file: str = "<text>") -> Preview:
    """Problems, texts and diagrams of a text; as much as can be read when it has errors."""
    checked = validate(source, flow_id=flow_id, file=file)  # the validate endpoint's
    problems = tuple(Problem(p.line, p.column, p.message) for p in checked.problems)
    shaped = _shape(source)
    if shaped is None:
        return Preview(version=None, problems=problems)
    flow, positions = shaped
    languages = tuple(flow.languages)
    return Preview(
        version=checked.loaded.version if checked.loaded else None,
        problems=problems,
        languages=languages,
        texts=text_rows(flow, positions),
        diagrams={language: mermaid(flow, language=language) for language in languages},
        steps=len(flow.steps),
    )


DiffKind = Literal["same", "added", "removed", "skipped"]


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: its kind, its numbers in the old and new text, its text."""

    kind: DiffKind
    old: int | None
    new: int | None
    text: str


def diff(old: str, new: str, *, context: int = 3) -> tuple[DiffLine, ...]:
    """A line diff (Python's difflib) with `context` unchanged lines around each change;
    a run of unchanged lines left out is one `skipped` line whose text is how many."""
    a, b = old.splitlines(), new.splitlines()
    result: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    shown_up_to = 0  # lines of the old text before this were shown or counted
    for group in matcher.get_grouped_opcodes(context):
        if group[0][1] > shown_up_to:
            result.append(DiffLine("skipped", None, None, str(group[0][1] - shown_up_to)))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                result.extend(
                    DiffLine("same", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1)
                )
                continue
            if tag in ("replace", "delete"):
                result.extend(DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2))
            if tag in ("replace", "insert"):
                result.extend(DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2))
        shown_up_to = group[-1][2]
        if len(result) > MAX_DIFF_LINES:
            return (*result[:MAX_DIFF_LINES], DiffLine("skipped", None, None, "…"))
    if result and shown_up_to < len(a):
        result.append(DiffLine("skipped", None, None, str(len(a) - shown_up_to)))
    return tuple(result)


def diff_json(old: str, new: str) -> dict[str, Any]:
    """The diff endpoint's answer: the lines and how many were added and removed."""
    lines = diff(old, new)
    return {
        "same": old == new,
        "added": sum(line.kind == "added" for line in lines),
        "removed": sum(line.kind == "removed" for line in lines),
        "lines": [
            {"kind": line.kind, "old": line.old, "new": line.new, "text": line.text}
            for line in lines
        ],
    }
