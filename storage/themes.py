"""Admins' theme words (`storage.theme_tables`): reading them as the data `ThemeBook.extended`
takes, the book they make on top of a base book, and the edits of the admin page.

The rows are read per analysis batch by the worker and per request by the pages: a few dozen
rows, one indexed read, never on the message path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.analysis import ThemeBook, ThemeBookError
from storage.theme_tables import ThemeSetting, ThemeWord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddedWord:
    """A word an admin added, who and when."""

    word: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Stored:
    """What admins stored, as `ThemeBook.extended` data (by key: new themes follow the base
    book's in alphabetical order), and which keys they created."""

    data: dict[str, dict[str, Any]]
    created: frozenset[str]
    added: dict[str, list[AddedWord]]
    """Each theme's admins' words, oldest first."""


async def stored(*, session: AsyncSession) -> Stored:
    """Every admin's label and word, as book data."""
    settings = (await session.exec(select(ThemeSetting).order_by(col(ThemeSetting.key)))).all()
    words = (await session.exec(select(ThemeWord).order_by(col(ThemeWord.id)))).all()
    data: dict[str, dict[str, Any]] = {}
    created: set[str] = set()
    for setting in settings:
        entry: dict[str, Any] = {"words": []}
        if setting.label_zh:
            entry["label_zh"] = setting.label_zh
        if setting.label_en:
            entry["label_en"] = setting.label_en
        data[setting.key] = entry
        if setting.created:
            created.add(setting.key)
    added: dict[str, list[AddedWord]] = {}
    for word in words:
        data.setdefault(word.key, {"words": []})["words"].append(word.word)
        added.setdefault(word.key, []).append(AddedWord(word.word, word.added_by, word.added_at))
    return Stored(data, frozenset(created), added)


def book_with(base: ThemeBook, data: dict[str, dict[str, Any]]) -> ThemeBook:
    """`base` extended by the stored data, theme by theme: an entry the base no longer makes
    valid (its theme left CXBOT_THEMES_FILE, say) is logged and left out, not fatal."""
    book = base
    for key, entry in data.items():
        try:
            book = book.extended({key: entry})
        except ThemeBookError as exc:
            log.warning("stored theme words not used: %s", exc)
    return book


async def book(*, session: AsyncSession, base: ThemeBook) -> ThemeBook:
    """The effective book: `base` (defaults and the file) with the admins' entries."""
    return book_with(base, (await stored(session=session)).data)


async def add_words(
    *, session: AsyncSession, key: str, words: list[str], by: str, now: datetime
) -> list[str]:
    """Add words to a theme (those it has already are skipped); the words added."""
    have = set((await session.exec(select(ThemeWord.word).where(col(ThemeWord.key) == key))).all())
    added = []
    for word in words:
        if word not in have:
            session.add(ThemeWord(key=key, word=word, added_at=now, added_by=by[:64]))
            have.add(word)
            added.append(word)
    await session.flush()
    return added


async def remove_word(*, session: AsyncSession, key: str, word: str) -> bool:
    """Remove an admin's word from a theme; False when it was not there."""
    result = await session.exec(
        delete(ThemeWord).where(col(ThemeWord.key) == key, col(ThemeWord.word) == word)
    )
    return bool(result.rowcount)


async def set_labels(
    *,
    session: AsyncSession,
    key: str,
    label_zh: str | None,
    label_en: str | None,
    by: str,
    now: datetime,
    created: bool = False,
) -> None:
    """Set a theme's labels (None: the base book's); `created` marks a theme made here."""
    setting = await session.get(ThemeSetting, key)
    if setting is None:
        setting = ThemeSetting(key=key, created=created)
    setting.created = setting.created or created  # labels kept for a theme that left the file
    setting.label_zh, setting.label_en = label_zh, label_en
    setting.updated_at, setting.updated_by = now, by[:64]
    session.add(setting)
    await session.flush()


async def remove_theme(*, session: AsyncSession, key: str) -> bool:
    """Remove a theme an admin created, with its words; False when there is none."""
    setting = await session.get(ThemeSetting, key)
    if setting is None or not setting.created:
        return False
    await session.exec(delete(ThemeWord).where(col(ThemeWord.key) == key))
    await session.delete(setting)
    await session.flush()
    return True
