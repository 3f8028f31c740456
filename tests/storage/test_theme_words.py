"""Admins' theme words in the database (SQLite and PostgreSQL): added once each, removed,
labels set and reset, a new theme made and removed, and the book they make on top of the
default one — an entry the base no longer makes valid is left out, not fatal."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from flows.analysis import analyze, default_book
from storage import themes
from storage.database import Sessions, reading
from storage.theme_tables import ThemeWord
from storage.writes import Writer
from tests.conftest import Clock

pytestmark = pytest.mark.backends("sqlite", "postgresql")


async def test_words_labels_and_new_themes_make_the_book(sessions: Sessions, clock: Clock) -> None:
    writer = Writer(sessions)
    async with writer.transaction() as session:
        added = await themes.add_words(
            session=session, key="resolution", words=["warranty", "保修卡"], by="ann", now=clock()
        )
        assert added == ["warranty", "保修卡"]
        again = await themes.add_words(
            session=session, key="resolution", words=["warranty", "延保"], by="ann", now=clock()
        )
        assert again == ["延保"]
        await themes.set_labels(
            session=session, key="staff", label_zh="服务人员", label_en=None, by="ann", now=clock()
        )
        await themes.set_labels(
            session=session,
            key="loyalty",
            label_zh="会员积分",
            label_en="Loyalty",
            by="ann",
            now=clock(),
            created=True,
        )
        await themes.add_words(
            session=session, key="loyalty", words=["积分", "points"], by="ann", now=clock()
        )
    async with reading(sessions) as session:
        found = await themes.stored(session=session)
        book = await themes.book(session=session, base=default_book())
    assert found.data["resolution"]["words"] == ["warranty", "保修卡", "延保"]
    assert found.data["staff"] == {"words": [], "label_zh": "服务人员"}
    assert found.created == {"loyalty"}
    assert book.keys()[-1] == "loyalty" and book.keys()[:9] == default_book().keys()
    staff = book.get("staff")
    assert staff is not None and staff.label("zh") == "服务人员" and staff.label("en") == "Staff"
    assert analyze("the warranty claim was a nightmare").themes == ()
    assert analyze("the warranty claim was a nightmare", book).themes == ("resolution",)
    assert "loyalty" in analyze("积分总是不到账", book).themes

    async with writer.transaction() as session:
        assert await themes.remove_word(session=session, key="resolution", word="warranty")
        assert not await themes.remove_word(session=session, key="resolution", word="warranty")
        assert not await themes.remove_theme(session=session, key="staff")  # a default theme
        assert await themes.remove_theme(session=session, key="loyalty")
        await themes.set_labels(
            session=session, key="staff", label_zh=None, label_en=None, by="ann", now=clock()
        )
    async with reading(sessions) as session:
        book = await themes.book(session=session, base=default_book())
    assert book.keys() == default_book().keys()
    assert analyze("the warranty claim was a nightmare", book).themes == ()
    resolution = book.get("resolution")
    assert resolution is not None and "延保" in resolution.words
    assert book.get("staff") == default_book().get("staff")


async def test_a_word_is_stored_once_per_theme(sessions: Sessions, clock: Clock) -> None:
    writer = Writer(sessions)
    async with writer.transaction() as session:
        session.add(ThemeWord(key="price", word="贵", added_at=clock()))
    with pytest.raises(IntegrityError):
        async with writer.transaction() as session:
            session.add(ThemeWord(key="price", word="贵", added_at=clock()))


def test_an_entry_the_base_no_longer_makes_valid_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # words for `warranty`, a theme CXBOT_THEMES_FILE defined and no longer does
    data = {"warranty": {"words": ["保修"]}, "delivery": {"words": ["闪送"]}}
    book = themes.book_with(default_book(), data)
    assert book.get("warranty") is None
    delivery = book.get("delivery")
    assert delivery is not None and "闪送" in delivery.words
    assert "stored theme words not used" in caplog.text
