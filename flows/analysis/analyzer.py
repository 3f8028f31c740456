"""`analyze(text, book)`: themes, sentiment and vagueness of one open answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flows.analysis.themes import ThemeBook

Sentiment = Literal["positive", "neutral", "negative"]
SENTIMENTS: tuple[Sentiment, ...] = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class TextAnalysis:
    """What one answer says: theme keys (book order, possibly none), overall sentiment, and
    whether it is too vague to act on ("不好", "meh": no theme and at most a few words)."""

    themes: tuple[str, ...]
    sentiment: Sentiment
    vague: bool


def analyze(text: str, book: ThemeBook | None = None) -> TextAnalysis:
    """Themes (from `book`, the default book when None), sentiment and vagueness of `text`."""
    raise NotImplementedError


def is_vague(text: str, book: ThemeBook | None = None) -> bool:
    """True when `text` is too vague to act on: no concrete topic, only a verdict
    ("一般般", "不好", "bad", "meh", "ok") or nothing at all."""
    return analyze(text, book).vague
