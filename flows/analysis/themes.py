"""The theme list: nine default themes with bilingual labels and words, extendable as data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

THEME_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
"""A theme key: lower-case ASCII, digits and `_`, at most 32 characters (`delivery`)."""


class ThemeBookError(ValueError):
    """Theme data an admin wrote is malformed (the message says where and why)."""


@dataclass(frozen=True)
class Theme:
    """One theme: a stable key, its labels, and the words (zh and en) that cite it."""

    key: str
    label_zh: str
    label_en: str
    words: tuple[str, ...] = ()

    def label(self, language: str) -> str:
        """The label in `language` (`zh` or `en`; anything else reads English)."""
        return self.label_zh if language == "zh" else self.label_en


@dataclass(frozen=True)
class ThemeBook:
    """The themes an analysis may assign, in display order. Immutable; `extended` makes a new
    book with more words or more themes."""

    themes: tuple[Theme, ...]
    _by_key: dict[str, Theme] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {theme.key: theme for theme in self.themes})

    def keys(self) -> tuple[str, ...]:
        """The theme keys in display order."""
        return tuple(theme.key for theme in self.themes)

    def get(self, key: str) -> Theme | None:
        """The theme with this key, or None."""
        return self._by_key.get(key)

    def extended(self, data: Mapping[str, Any]) -> ThemeBook:
        """A new book with `data` added: `{key: {"words": [...], "label_zh": ..., "label_en":
        ...}}`. A known key gains the words (labels replaced when given); a new key becomes a
        new theme (both labels required). Raises ThemeBookError on malformed data."""
        raise NotImplementedError

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ThemeBook:
        """A book made only of `data` (same shape as `extended`)."""
        return cls(()).extended(data)


DEFAULT_THEMES: tuple[Theme, ...] = ()
"""The nine default themes of issue 17 (filled in below)."""


@cache
def default_book() -> ThemeBook:
    """The default theme book (the nine themes)."""
    return ThemeBook(DEFAULT_THEMES)
