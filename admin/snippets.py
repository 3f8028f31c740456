"""The snippet shown under a search result: a piece of what the customer wrote, with the
searched words marked. Pure: returns (text, is_match) parts; templates escape each part."""

from __future__ import annotations

import re
from collections.abc import Sequence

from storage.terms import CJK, normalize, runs

WIDTH = 80
"""About this many characters around the first match."""
_WORD = rf"[^\W_{CJK}]"

Parts = tuple[tuple[str, bool], ...]


def _normalized_with_map(text: str) -> tuple[str, list[int]]:
    """`text` normalized character by character, and for each normalized character the
    index of the original character it came from."""
    pieces: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = normalize(char)
        pieces.append(folded)
        origin.extend([index] * len(folded))
    return "".join(pieces), origin


def _patterns(query: str) -> list[re.Pattern[str]]:
    """Whole CJK runs (or, failing those, their pairs) and whole words of the query."""
    found = []
    for run, cjk in runs(query):
        if cjk:
            found.append(re.compile(re.escape(run)))
        else:
            found.append(re.compile(rf"(?<!{_WORD}){re.escape(run)}(?!{_WORD})"))
    return found


def _spans(text: str, patterns: Sequence[re.Pattern[str]]) -> list[tuple[int, int]]:
    """Matched spans of the original text, merged, in order."""
    folded, origin = _normalized_with_map(text)
    spans = sorted(
        (origin[m.start()], origin[m.end() - 1] + 1)
        for pattern in patterns
        for m in pattern.finditer(folded)
        if m.end() > m.start()
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _cut(text: str, spans: list[tuple[int, int]]) -> Parts:
    first = spans[0][0] if spans else 0
    start = max(0, first - WIDTH // 3)
    end = min(len(text), start + WIDTH)
    parts: list[tuple[str, bool]] = [("…", False)] if start else []
    at = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start > at:
            parts.append((text[at:span_start], False))
        parts.append((text[span_start:span_end], True))
        at = span_end
    if at < end:
        parts.append((text[at:end], False))
    if end < len(text):
        parts.append(("…", False))
    return tuple(parts)


def snippet(texts: Sequence[str], query: str) -> Parts:
    """The first text holding a whole query run (else any query term), cut around it."""
    whole = _patterns(query)
    pairs = [
        re.compile(re.escape(run[i : i + 2]))
        for run, cjk in runs(query)
        if cjk and len(run) > 2
        for i in range(len(run) - 1)
    ]
    for patterns in (whole, pairs):
        for text in texts:
            spans = _spans(text, patterns)
            if spans:
                return _cut(text, spans)
    return _cut(texts[0], []) if texts else ()
