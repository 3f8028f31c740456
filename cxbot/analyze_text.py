"""`cxbot analyze-text`: open answers one per line on stdin, one JSON object per line out.

    printf '快递太慢了\\nnot bad at all\\n' | cxbot analyze-text
    {"themes": ["delivery"], "sentiment": "negative"}
    {"themes": [], "sentiment": "positive"}

Uses the offline analyzer (`flows.analysis`); `--themes FILE` adds an admin's theme words
(YAML, the shape `ThemeBook.extended` takes); `--vague` adds `"vague": true|false`. Wiring a
model: pass another `Analyzer` to `analyze_lines`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from flows.analysis import TextAnalysis, ThemeBook, ThemeBookError, analyze, default_book
from flows.safe_yaml import YamlError, read_yaml

Analyzer = Callable[[str], TextAnalysis]


def add_parser(commands: Any) -> None:
    """Register `analyze-text` on the CLI's subcommands."""
    sub = commands.add_parser(
        "analyze-text", help="themes and sentiment of answers, one per line on stdin"
    )
    sub.add_argument("--themes", type=Path, default=None, help="YAML file of extra theme words")
    sub.add_argument("--vague", action="store_true", help="also say whether each is vague")


def analyze_lines(
    lines: Iterable[str], analyzer: Analyzer, *, vague: bool = False
) -> Iterator[str]:
    """One JSON line per input line (an empty line gives no themes and neutral)."""
    for line in lines:
        result = analyzer(line.rstrip("\r\n"))
        row: dict[str, Any] = {"themes": list(result.themes), "sentiment": result.sentiment}
        if vague:
            row["vague"] = result.vague
        yield json.dumps(row, ensure_ascii=False)


def book_from_file(path: Path) -> ThemeBook:
    """The default book extended with the theme words in a YAML file."""
    data, _ = read_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ThemeBookError("the file must be a mapping of theme keys")
    return default_book().extended(data)


def run(
    args: argparse.Namespace,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    analyzer_for: Callable[[ThemeBook], Analyzer] | None = None,
) -> int:
    """Run the command; a bad themes file is one line on stderr and exit status 2."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    book = default_book()
    if args.themes is not None:
        try:
            book = book_from_file(args.themes)
        except (OSError, YamlError, ThemeBookError) as exc:
            print(f"cxbot analyze-text: {args.themes}: {exc}", file=sys.stderr)
            return 2
    analyzer = analyzer_for(book) if analyzer_for else (lambda text: analyze(text, book))
    for row in analyze_lines(stdin, analyzer, vague=args.vague):
        stdout.write(row + "\n")
        stdout.flush()
    return 0
