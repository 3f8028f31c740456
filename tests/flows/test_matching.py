"""Matching what a customer types against keywords and choices."""

from __future__ import annotations

import pytest

from flows.matching import (
    DEFAULT_HANDOFF_KEYWORDS,
    SKIP_KEYWORDS,
    STOP_KEYWORDS,
    match_choice,
    matches_keyword,
    simplify,
)
from flows.model import Choice


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Talk to a HUMAN!", "talktoahuman"),
        ("转 人工。", "转人工"),
        ("ＡＢＣ１", "abc1"),
        ("  ", ""),
    ],
)
def test_simplify(text: str, expected: str) -> None:
    assert simplify(text) == expected


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("转人工", True),
        ("我要转人工", True),
        ("人工！", True),
        ("人工客服", True),
        ("Human", True),
        ("agent", True),
        ("I want to talk to a human", True),
        ("Can I speak to an agent please?", True),
        ("a real person", True),
        ("/human", True),
        ("/human@cx_bot", True),
        ("the agent was rude", False),
        ("客服态度很差", False),
        ("human please", False),  # one-word keywords match whole messages only
        ("/humans", False),
        ("", False),
        ("   ", False),
        ("/", False),
    ],
)
def test_handoff_keywords(text: str, wanted: bool) -> None:
    assert matches_keyword(text, DEFAULT_HANDOFF_KEYWORDS) is wanted


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("stop", True),
        ("STOP!", True),
        ("/stop", True),
        ("停止", True),
        ("退出", True),
        ("结束调查吧", True),
        ("quit", True),
        ("please stop", False),
        ("don't stop", False),
        ("stop sending parcels to the wrong address", False),
    ],
)
def test_stop_keywords(text: str, wanted: bool) -> None:
    assert matches_keyword(text, STOP_KEYWORDS) is wanted


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("skip", True),
        ("Skip.", True),
        ("跳过", True),
        ("pass", True),
        ("无", True),
        ("没有", True),
        ("No comment", True),
        ("nothing", False),
        ("skip it", False),
        ("没有了", False),
        ("the courier did not skip my house", False),
    ],
)
def test_skip_keywords(text: str, wanted: bool) -> None:
    assert matches_keyword(text, SKIP_KEYWORDS) is wanted


def test_flow_keywords_match_whole_and_case_insensitively() -> None:
    assert matches_keyword("Feedback", ["评价", "feedback"])
    assert matches_keyword("评价", ["评价", "feedback"])
    assert not matches_keyword("feedback form", ["评价", "feedback"])
    assert not matches_keyword("差评价", ["评价"])  # a two-character keyword is not a phrase


RESOLVED = [
    Choice(value="yes", label={"zh": "已解决", "en": "Yes"}),
    Choice(value="partly", label={"zh": "部分解决", "en": "Partly"}),
    Choice(value="no", label={"zh": "没有", "en": "No"}),
]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", "yes"),
        ("2", "partly"),
        ("3", "no"),
        ("１", "yes"),
        ("1.", "yes"),
        ("#2", "partly"),
        ("yes", "yes"),
        ("YES!", "yes"),
        ("已解决", "yes"),
        ("部分解决", "partly"),
        ("Partly", "partly"),
        ("No", "no"),
        ("没有", "no"),
        ("0", None),
        ("4", None),
        ("10", None),
        ("maybe", None),
        ("yes no", None),
        ("解决", None),
        ("", None),
        ("？", None),
    ],
)
def test_match_choice(text: str, value: str | None) -> None:
    assert match_choice(text, RESOLVED) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("wrong_item", "wrong_item"),
        ("wrong item", "wrong_item"),
        ("Wrong Item", "wrong_item"),
        ("it arrived late", "late"),
        ("late", "late"),
        ("arrived", None),
    ],
)
def test_match_choice_by_value_or_plain_label(text: str, value: str | None) -> None:
    choices = [
        Choice(value="wrong_item", label="Wrong item"),
        Choice(value="late", label="It arrived late"),
    ]
    assert match_choice(text, choices) == value
