"""The theme words page (`/admin/insights/themes`): every theme of the book with its labels,
its built-in words (the defaults' and CXBOT_THEMES_FILE's, read-only) and the words admins
added. Viewers and agents read it; admins add and remove words, change labels, make and
remove themes. Every form carries the CSRF token; what is refused is re-rendered with the
reason next to its field (400, 404 or 409), never a 500. Input is checked with our limits
and then with `ThemeBook.extended`'s own rules, the ones the analysis applies.

The analysis worker reads the stored words per batch (`storage.themes.book`), so a change
applies to the next answers in every process; `cxbot analyze --since DATE --redo` redoes
older ones (the page says so).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from admin import i18n
from admin.access import Principal, page_role, require_csrf
from admin.rendering import flash, language_of, render
from admin.users_page import has_hidden
from flows.analysis import ThemeBook, ThemeBookError
from storage import themes
from storage.database import Sessions, reading
from storage.themes import AddedWord
from storage.writes import Writer

log = logging.getLogger(__name__)

PAGE = "/admin/insights/themes"
MAX_WORD = 40
MAX_LABEL = 40
MAX_AT_ONCE = 50
MAX_ADDED = 300
"""Words admins may add to one theme."""
MAX_CREATED = 30
"""Themes admins may make."""
REDO = "cxbot analyze --since 2026-11-01 --redo"
SEPARATORS = re.compile(r"[,，、;；\n\r\t]+")
Viewer = Annotated[Principal, Depends(page_role("viewer"))]
Admin = Annotated[Principal, Depends(page_role("admin"))]
ThemeKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Field = Annotated[str, Form(max_length=4000)]
Checked = [Depends(require_csrf)]


@dataclass(frozen=True)
class ThemeRow:
    """One theme as the page shows it."""

    key: str
    label_zh: str
    label_en: str
    default_zh: str | None
    """The base book's label (None for a theme an admin made)."""
    default_en: str | None
    base_words: tuple[str, ...]
    added: list[AddedWord]
    created: bool


class Refused(Exception):
    """A form refused: which form, which field, the text key, its status."""

    def __init__(self, form: str, field: str, text: str, status: int = 400, **fields: object):
        super().__init__(text)
        self.form, self.field, self.text, self.status, self.fields = (
            form,
            field,
            text,
            status,
            fields,
        )


def split_words(raw: str) -> list[str]:
    """The words of a field (commas, 、, semicolons or new lines between them), each once."""
    words: list[str] = []
    for part in SEPARATORS.split(raw):
        word = " ".join(part.split())
        if word and word not in words:
            words.append(word)
    return words


def _bad_text(text: str, limit: int) -> bool:
    return not text.strip() or len(text) > limit or has_hidden(text)


def _checked_words(form: str, raw: str, have: int) -> list[str]:
    words = split_words(raw)
    if not words:
        raise Refused(form, "words", "themes.error.words")
    for word in words:
        if _bad_text(word.lstrip("~"), MAX_WORD) or len(word) > MAX_WORD:
            raise Refused(form, "words", "themes.error.word", max=MAX_WORD, word=word[:60])
    if len(words) > MAX_AT_ONCE or have + len(words) > MAX_ADDED:
        raise Refused(form, "words", "themes.error.too_many", max=MAX_AT_ONCE, total=MAX_ADDED)
    return words


def _checked_label(form: str, field: str, label: str, *, needed: bool) -> str | None:
    label = " ".join(label.split())
    if not label:
        if needed:
            raise Refused(form, field, "themes.error.label_needed")
        return None
    if _bad_text(label, MAX_LABEL):
        raise Refused(form, field, "themes.error.label", max=MAX_LABEL)
    return label


def _by_the_book(form: str, book: ThemeBook, key: str, entry: dict[str, Any]) -> ThemeBook:
    """`book` with the entry, or Refused naming the field ThemeBook's rules point at."""
    try:
        return book.extended({key: entry})
    except ThemeBookError as exc:
        field = exc.field if exc.field in ("key", "words", "label_zh", "label_en") else "words"
        text = {
            "key": "themes.error.key",
            "words": "themes.error.words",
            "label_zh": "themes.error.label_needed",
            "label_en": "themes.error.label_needed",
        }[field]
        raise Refused(form, field, text, max=MAX_LABEL) from exc


def router(
    sessions: Sessions, *, writer: Writer, clock: Callable[[], datetime], book: ThemeBook
) -> APIRouter:
    """The page and its forms; `book` is the default themes and CXBOT_THEMES_FILE's."""
    pages = APIRouter(include_in_schema=False)

    async def state() -> tuple[themes.Stored, ThemeBook]:
        async with reading(sessions) as session:
            stored = await themes.stored(session=session)
        return stored, themes.book_with(book, stored.data)

    def rows(stored: themes.Stored, effective: ThemeBook) -> list[ThemeRow]:
        shown = []
        for theme in effective.themes:
            base = book.get(theme.key)
            shown.append(
                ThemeRow(
                    key=theme.key,
                    label_zh=theme.label_zh,
                    label_en=theme.label_en,
                    default_zh=None if base is None else base.label_zh,
                    default_en=None if base is None else base.label_en,
                    base_words=() if base is None else base.words,
                    added=stored.added.get(theme.key, []),
                    created=theme.key in stored.created,
                )
            )
        return shown

    async def page(
        request: Request,
        principal: Principal,
        *,
        refused: Refused | None = None,
        values: dict[str, str] | None = None,
    ) -> Response:
        stored, effective = await state()
        errors: dict[str, dict[str, str]] = {}
        error = None
        if refused is not None:
            t = i18n.translator(language_of(request))
            message = t(refused.text, **refused.fields)
            errors[refused.form] = {refused.field: message}
            if refused.field == "page":
                error = message
            log.info("theme form refused: %s %s (%s)", refused.form, refused.field, refused.text)
        context = {
            "themes": rows(stored, effective),
            "can_edit": principal.can("admin"),
            "errors": errors,
            "values": {refused.form: values or {}} if refused else {},
            "error": error,
            "redo": REDO,
            "limits": {"word": MAX_WORD, "label": MAX_LABEL},
        }
        status = 200 if refused is None else refused.status
        return render(request, "themes.html", context, status_code=status)

    def done(request: Request, key: str, anchor: str, **fields: str) -> Response:
        flash(request, key, **fields)
        return RedirectResponse(f"{PAGE}#{anchor}", status_code=303)

    def label_of(request: Request, effective: ThemeBook, key: str) -> str:
        theme = effective.get(key)
        return key if theme is None else theme.label(language_of(request))

    async def known(key: str, form: str) -> tuple[themes.Stored, ThemeBook]:
        stored, effective = await state()
        if effective.get(key) is None:
            raise Refused(form, "page", "themes.error.missing", status=404, key=key)
        return stored, effective

    @pages.get(PAGE)
    async def theme_words(request: Request, principal: Viewer) -> Response:
        """Every theme with its labels and words; the forms for admins."""
        return await page(request, principal)

    @pages.post(PAGE + "/{key}/words", dependencies=Checked)
    async def add_words(request: Request, admin: Admin, key: ThemeKey, words: Field) -> Response:
        """Add words to a theme."""
        form = f"words-{key}"
        try:
            stored, effective = await known(key, form)
            wanted = _checked_words(form, words, len(stored.added.get(key, [])))
            _by_the_book(form, effective, key, {"words": wanted})
            async with writer.transaction() as session:
                added = await themes.add_words(
                    session=session, key=key, words=wanted, by=admin.name, now=clock()
                )
        except Refused as refused:
            return await page(request, admin, refused=refused, values={"words": words})
        theme = label_of(request, effective, key)
        if not added:
            return done(request, "themes.done.nothing", f"theme-{key}", theme=theme)
        return done(
            request, "themes.done.words", f"theme-{key}", theme=theme, words=", ".join(added)
        )

    @pages.post(PAGE + "/{key}/words/remove", dependencies=Checked)
    async def remove_word(request: Request, admin: Admin, key: ThemeKey, word: Field) -> Response:
        """Remove a word an admin added."""
        form = f"words-{key}"
        try:
            _, effective = await known(key, form)
            async with writer.transaction() as session:
                removed = await themes.remove_word(session=session, key=key, word=word)
            if not removed:
                theme = label_of(request, effective, key)
                raise Refused(
                    form, "page", "themes.error.word_missing", 404, theme=theme, word=word[:60]
                )
        except Refused as refused:
            return await page(request, admin, refused=refused)
        theme = label_of(request, effective, key)
        return done(request, "themes.done.removed_word", f"theme-{key}", theme=theme, word=word)

    @pages.post(PAGE + "/{key}/labels", dependencies=Checked)
    async def set_labels(
        request: Request, admin: Admin, key: ThemeKey, label_zh: Field = "", label_en: Field = ""
    ) -> Response:
        """Change a theme's labels (empty: the default's, for a built-in theme)."""
        form = f"labels-{key}"
        values = {"label_zh": label_zh, "label_en": label_en}
        try:
            stored, effective = await known(key, form)
            made = key in stored.created or book.get(key) is None
            zh = _checked_label(form, "label_zh", label_zh, needed=made)
            en = _checked_label(form, "label_en", label_en, needed=made)
            base = book.get(key)
            if base is not None:  # the default label is stored as "none": it follows the file
                zh = None if zh == base.label_zh else zh
                en = None if en == base.label_en else en
            entry = {k: v for k, v in (("label_zh", zh), ("label_en", en)) if v is not None}
            _by_the_book(form, book if base else ThemeBook(()), key, entry)
            async with writer.transaction() as session:
                await themes.set_labels(
                    session=session,
                    key=key,
                    label_zh=zh,
                    label_en=en,
                    by=admin.name,
                    now=clock(),
                    created=made,
                )
        except Refused as refused:
            return await page(request, admin, refused=refused, values=values)
        _, effective = await state()
        theme = label_of(request, effective, key)
        return done(request, "themes.done.labels", f"theme-{key}", theme=theme)

    @pages.post(PAGE, dependencies=Checked)
    async def new_theme(
        request: Request,
        admin: Admin,
        key: Field = "",
        label_zh: Field = "",
        label_en: Field = "",
        words: Field = "",
    ) -> Response:
        """Make a theme: a key, both labels and its first words."""
        form = "new"
        key = key.strip()
        values = {"key": key, "label_zh": label_zh, "label_en": label_en, "words": words}
        try:
            stored, effective = await state()
            if len(stored.created) >= MAX_CREATED:
                raise Refused(form, "key", "themes.error.themes", 409, max=MAX_CREATED)
            if effective.get(key) is not None:
                raise Refused(form, "key", "themes.error.key_taken", 409, key=key)
            zh = _checked_label(form, "label_zh", label_zh, needed=True)
            en = _checked_label(form, "label_en", label_en, needed=True)
            wanted = _checked_words(form, words, 0)
            entry = {"label_zh": zh, "label_en": en, "words": wanted}
            _by_the_book(form, effective, key, entry)
            try:
                async with writer.transaction() as session:
                    await themes.set_labels(
                        session=session,
                        key=key,
                        label_zh=zh,
                        label_en=en,
                        by=admin.name,
                        now=clock(),
                        created=True,
                    )
                    await themes.add_words(
                        session=session, key=key, words=wanted, by=admin.name, now=clock()
                    )
            except IntegrityError:  # another admin made it a moment ago
                raise Refused(form, "key", "themes.error.key_taken", 409, key=key) from None
        except Refused as refused:
            return await page(request, admin, refused=refused, values=values)
        theme = zh if language_of(request) == "zh" else en
        return done(request, "themes.done.new", f"theme-{key}", theme=theme or key)

    @pages.post(PAGE + "/{key}/remove", dependencies=Checked)
    async def remove_theme(request: Request, admin: Admin, key: ThemeKey) -> Response:
        """Remove a theme an admin made, with its words."""
        form = f"labels-{key}"
        try:
            _, effective = await known(key, form)
            theme = label_of(request, effective, key)
            async with writer.transaction() as session:
                removed = await themes.remove_theme(session=session, key=key)
            if not removed:
                raise Refused(form, "page", "themes.error.not_created", 409)
        except Refused as refused:
            return await page(request, admin, refused=refused)
        return done(request, "themes.done.removed_theme", "new", theme=theme)

    return pages
