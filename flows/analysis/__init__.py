"""Offline text analysis of open answers: themes, sentiment and vagueness, deterministic.

    from flows.analysis import analyze, default_book, is_vague
    analyze("快递太慢了，客服态度还不错", default_book())
    # TextAnalysis(themes=("delivery", "staff"), sentiment="negative", vague=False)

Pure: imports only `flows` and libraries (jieba for segmentation, OpenCC for traditional →
simplified); no clock, no database, no network. jieba's dictionary is loaded once, lazily, on
the first call (about a second).
"""

from __future__ import annotations

from flows.analysis.analyzer import SENTIMENTS, Sentiment, TextAnalysis, analyze, is_vague
from flows.analysis.themes import (
    DEFAULT_THEMES,
    Theme,
    ThemeBook,
    ThemeBookError,
    default_book,
)

VERSION = "offline-2"
"""Changes when the rules or lexicons change, so stored readings can say which ones made them."""

__all__ = [
    "DEFAULT_THEMES",
    "SENTIMENTS",
    "VERSION",
    "Sentiment",
    "TextAnalysis",
    "Theme",
    "ThemeBook",
    "ThemeBookError",
    "analyze",
    "default_book",
    "is_vague",
]
