"""Customer-facing words: every page text in zh and en, flow names without jargon."""

from __future__ import annotations

import re

from bot.webchat_texts import LABELS, LANGUAGES
from flows.registry import BUILTIN_DIR, FlowRegistry
from flows.texts import BUILTIN

JARGON = re.compile(r"\b(NPS|CES|CSAT|Net Promoter|Effort Score)\b|净推荐|费力度", re.IGNORECASE)
ENDED = {"zh": "本次调查已结束", "en": "this survey has ended"}


def test_every_page_text_is_in_every_language() -> None:
    assert sorted(LABELS) == sorted(LANGUAGES)
    keys = {language: set(labels) for language, labels in LABELS.items()}
    assert keys["zh"] == keys["en"]
    assert all(text.strip() for labels in LABELS.values() for text in labels.values())


def test_shipped_flow_names_speak_to_customers_in_both_languages() -> None:
    registry = FlowRegistry([BUILTIN_DIR])
    assert registry.refresh() == []
    for loaded in registry.all():
        name = loaded.flow.name
        assert isinstance(name, dict) and set(name) >= {"zh", "en"}, loaded.flow.id
        for text in name.values():
            assert not JARGON.search(text), f"{loaded.flow.id}: {text!r}"


def test_the_end_of_a_survey_is_worded_one_way() -> None:
    for language, words in ENDED.items():
        assert words in LABELS[language]["ended"].lower()
        assert words in BUILTIN["stopped"][language].lower()
