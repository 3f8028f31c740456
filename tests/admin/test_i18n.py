"""Every admin text exists in Chinese and English, and the language follows the person."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from admin import i18n

TEMPLATES = Path(i18n.__file__).with_name("templates")


def test_both_languages_have_every_key() -> None:
    assert set(i18n.TEXTS["zh"]) == set(i18n.TEXTS["en"])


@pytest.mark.parametrize("key", sorted(i18n.TEXTS["en"]))
def test_each_text_has_the_same_fields_in_both_languages(key: str) -> None:
    fields = [set(re.findall(r"\{(\w+)\}", i18n.TEXTS[lang][key])) for lang in i18n.LANGUAGES]
    assert fields[0] == fields[1], key
    assert all(i18n.TEXTS[lang][key].strip() for lang in i18n.LANGUAGES)


def test_every_key_a_template_uses_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']""", template.read_text("utf-8")))
    assert used, "the templates use no texts?"
    assert used <= set(i18n.TEXTS["en"]), sorted(used - set(i18n.TEXTS["en"]))


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, None, "zh"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "fr-FR,en;q=0.5,zh-CN;q=0.8", "zh"),
        (None, None, "zh-TW;q=0,en;q=0.1", "en"),
        (None, None, "de, fr;q=abc", "zh"),
        (None, "en", "zh-CN", "en"),
        ("zh", "en", "en", "zh"),
        ("klingon", "en", "zh", "en"),
        ("EN", None, None, "en"),
    ],
)
def test_the_language_is_the_query_then_the_cookie_then_the_browser(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.pick_language(query, cookie, accept) == expected


def test_a_text_is_filled_and_a_missing_key_shows_itself() -> None:
    t = i18n.translator("en")
    assert t("nav.signed_in_as", name="ann", role="admin") == "Signed in as ann (admin)"
    assert t("no.such.key") == "no.such.key"
