"""Reading a score out of what a customer types."""

from __future__ import annotations

import pytest

from flows.scores import parse_score


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("9", 9),
        ("0", 0),
        ("10", 10),
        (" 7 ", 7),
        ("09", 9),
        ("９", 9),  # full-width digit
        ("9分", 9),
        ("我给8分", 8),
        ("8分吧", 8),
        ("9分，服务很好", 9),  # a leading score followed by a comment
        ("9 - great support", 9),
        ("10! great", 10),
        ("打十分", 10),
        ("九", 9),
        ("九分", 9),
        ("十", 10),
        ("零", 0),
        ("两分", 2),
        ("nine", 9),
        ("Ten", 10),
        ("I'd give it a 7", 7),
        ("I would say eight", 8),
        ("maybe a six", 6),
        ("10/10", 10),
        ("10 / 10", 10),
        ("9 out of 10", 9),
        ("10分之9", 9),
        ("十分之九", 9),
        ("6/10 maybe", 6),
        ("I give 9!", 9),
        # the table in docs/flows.md
        ("打9分吧", 9),
        ("10 分", 10),
        ("Nine!", 9),
        ("seven points", 7),
        ("I would give it an 8", 8),
        ("about 6", 6),
    ],
)
def test_accepts_a_score_on_a_0_to_10_scale(text: str, score: int) -> None:
    assert parse_score(text, 0, 10) == score


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "一般",  # "so-so": not a number
        "满意",
        "7 or 8",
        "7-8",
        "七八分",
        "seven eight",
        "8.5",
        "8,5",
        "11",
        "100",
        "-1",
        "no one helped",  # "one" inside a sentence is not a score
        "not 10",  # a number inside a sentence is not a score
        "I waited 3 days",
        "it took 3 weeks",
        "我等了3天",
        "1O",  # a typo for 10 is re-asked, not read as 1
        "十分满意",  # "十分" means "very" here
        "nine/10",  # a fraction we cannot read
        "4/5",  # out of 5 is not a score out of 10
        "9/100",
        "二十",
        "100%",
        "it took 3 days, I give 8",
        "7.5",
        "great",
    ],
)
def test_rejects_what_is_not_exactly_one_score(text: str) -> None:
    assert parse_score(text, 0, 10) is None


@pytest.mark.parametrize(
    ("text", "low", "high", "score"),
    [
        ("1", 1, 5, 1),
        ("5", 1, 5, 5),
        ("0", 1, 5, None),
        ("6", 1, 5, None),
        ("4/5", 1, 5, 4),
        ("8/10", 1, 5, None),
        ("3/10", 1, 5, None),  # 3 out of 10 is not 3 out of 5
        ("7", 1, 7, 7),
        ("5 out of 7", 1, 7, 5),
        ("七", 1, 7, 7),
        ("eight", 1, 7, None),
        ("twelve", 1, 20, 12),
    ],
)
def test_uses_the_scale_of_the_question(text: str, low: int, high: int, score: int | None) -> None:
    assert parse_score(text, low, high) == score
