"""Reading a score out of what a customer types."""

from __future__ import annotations

import pytest

from flows.scores import is_fractional, parse_score


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
        ("nine/10", 9),
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


@pytest.mark.parametrize(
    ("text", "score"),
    [
        # full marks, in words: the top of the scale
        ("满分", 10),
        ("给满分！", 10),
        ("必须满分", 10),
        ("最高分", 10),
        ("十分", 10),
        ("full marks", 10),
        ("Full marks from me!", 10),
        ("top marks", 10),
        ("perfect 10", 10),
        ("a perfect 10!", 10),
        ("perfect score", 10),
        ("满分10分", 10),
        # out of the scale's top
        ("8 out of ten", 8),
        ("eight out of 10", 8),
        ("8/10", 8),
        ("８／１０", 8),
        ("10分里给8", 8),
        ("十分里给八分", 8),
        ("满分10分，我给8分", 8),
        ("满分十分打九分", 9),
        ("10分制的话7分", 7),
        ("out of 10, I'd give 8", 8),
        ("on a scale of 0 to 10, 7", 7),
        # a short sentence with a verb
        ("给你们打8分", 8),
        ("我打7分吧", 7),
        ("我会给9分", 9),
        ("这次给个6分", 6),
        ("I'd give you 8", 8),
        ("I would rate it a 9", 9),
        ("we'd rate you guys a 7", 7),
        ("I'll go with 6", 6),
        ("my score is 9", 9),
        ("I’d say 8", 8),
        ("I think I'd give it 8 out of 10", 8),
        # a word of certainty or doubt before the number
        ("definitely 9", 9),
        ("Definitely a 10!", 10),
        ("probably a 6", 6),
        ("honestly, 7", 7),
        ("absolutely ten", 10),
        ("肯定10分", 10),
        ("一定给十分", 10),
        ("应该8分吧", 8),
        ("大概七分", 7),
        ("可能6分吧", 6),
        ("绝对满分", 10),
        # numerals and widths
        ("七", 7),
        ("两", 2),
        ("十", 10),
        ("１０", 10),
        ("８分", 8),
        # a comment before or after the score, after punctuation
        ("服务很好，给9分", 9),
        ("slow delivery, but I'd give 7", 7),
        ("8 - the app is great", 8),
    ],
)
def test_accepts_the_ways_customers_phrase_a_score(text: str, score: int) -> None:
    assert parse_score(text, 0, 10) == score


@pytest.mark.parametrize(
    "text",
    [
        "I waited 3 days",
        "订单123还没到",
        "2 hours on hold",
        "on hold for 2 hours",
        "my order 7 never came",
        "我等了两个小时",
        "快递3天才到",
        "打了3次电话",
        "I called 5 times",
        "not a 10",
        "I wouldn't give 10",
        "不会给10分",
        "不到满分",
        "full marks? no, 6",
        "满分8分",  # a full-marks word with another score
        "8 out of 5",
        "10分里给十一分",
        "perfect",
        "一般般",
        "7 8",
        "7.5",
        "8.5分",
        "七点五分",
        "8分半",
        "7 and a half",
        "8am",
        "room 8",
    ],
)
def test_still_rejects_numbers_inside_other_sentences(text: str) -> None:
    assert parse_score(text, 0, 10) is None


@pytest.mark.parametrize(
    ("text", "low", "high", "score"),
    [
        ("满分", 1, 5, 5),
        ("full marks", 1, 7, 7),
        ("perfect 10", 1, 5, None),  # ten is not on a 1-5 scale
        ("5 out of five", 1, 5, 5),
        ("满分5分给4分", 1, 5, 4),
        ("10分里给4分", 1, 5, None),
    ],
)
def test_full_marks_and_out_of_follow_the_scale(
    text: str, low: int, high: int, score: int | None
) -> None:
    assert parse_score(text, low, high) == score


@pytest.mark.parametrize(
    ("text", "fractional"),
    [
        ("7.5", True),
        ("8.5分", True),
        ("７．５", True),
        ("七点五", True),
        ("8分半", True),
        ("seven and a half", True),
        ("9", False),
        ("9分", False),
        ("9. great", False),
        ("great", False),
    ],
)
def test_is_fractional(text: str, fractional: bool) -> None:
    assert is_fractional(text) is fractional
