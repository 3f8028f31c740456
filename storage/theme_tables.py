"""Admins' theme words (migration 0016): labels and extra words for the theme book, edited on
`/admin/insights/themes`. The book an analysis uses is the default themes, then
CXBOT_THEMES_FILE, then these rows (`storage.themes.book_with`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import utcnow


class ThemeSetting(SQLModel, table=True):
    """One theme an admin touched: its labels (None: the default's or the file's) — a theme
    that exists only here (`created` true) needs both."""

    __tablename__ = "theme_setting"
    key: str = Field(primary_key=True, max_length=32)
    label_zh: str | None = Field(default=None, max_length=64)
    label_en: str | None = Field(default=None, max_length=64)
    created: bool = False
    """True for a theme an admin added (it can be removed again); false for a default one."""
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(default="", max_length=64)


class ThemeWord(SQLModel, table=True):
    """One word (zh or en; `~word` is weak) an admin added to a theme."""

    __tablename__ = "theme_word"
    __table_args__ = (UniqueConstraint("key", "word", name="uq_theme_word_key_word"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=32, index=True)
    word: str = Field(max_length=64)
    added_at: datetime = Field(default_factory=utcnow)
    added_by: str = Field(default="", max_length=64)
