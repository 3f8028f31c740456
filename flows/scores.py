"""Reading a score out of what a customer types.

A message is a score when it names exactly one whole number in the scale (as digits, in
Chinese numerals or English words, or as "full marks"), and the clause holding it says
nothing but how a score is given: "9", "九分", "给你们打8分", "I'd rate it a 9",
"definitely 9", "8 out of ten", "10分里给8分", "满分". A comment may follow or precede it
after punctuation ("9分，服务很好"). A number in any other sentence ("I waited 3 days",
"订单123还没到") is not a score.
"""

from __future__ import annotations

import re
import unicodedata

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百]+")
_CN_WORDS_WITH_NUMERALS = {"一定": "肯定", "一百分": "满分"}
"""Words that contain a numeral but are no number: replaced before numerals are read."""

_EN_NUMBERS = {
    "zero": 0,
    "nil": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_EN_NUMBER = re.compile(r"\b(" + "|".join(_EN_NUMBERS) + r")\b")


def _words(text: str) -> list[str]:
    return text.split()


# The words of a sentence that gives a score, and nothing else: who gives it, the verb,
# hedges and certainty, particles, and the unit. Anything outside them (days, order,
# waited, not, 还没到) makes the number part of another sentence.
_EN_SCORE_WORDS = frozenset(
    _words(
        """
    i i'd id i'll i'm im we we'd we'll you you'd ya u your guys it it's its this that
    them they us me my mine our he she him her overall all of out
    give giving gave given rate rating rated score scoring scored say saying said
    go going gonna with put mark marks choose pick vote call make
    would will could can should shall must do does is be was are am 's 'd 'll
    let's lets guess think reckon suppose deserve deserves worth
    definitely def defo probably prob maybe perhaps possibly likely surely sure
    certainly absolutely totally easily honestly solid strong about around roughly
    approximately like just only really truly easy a an the perfect full straight
    well so ok okay yeah yes yep yup hmm hm um umm uh er oh hey hi hello then still
    points point pts grade from for to here there thanks thank please pls
    but though anyway and recommend recommended
    """
    )
)
_CN_SCORE_WORDS = sorted(
    _words(
        """
    我们 我 咱们 咱 你们 你 您 贵司 贵公司 你家 他们 它 这个 这次 这 那就 那么 那
    评分 打分 分数 分儿 分 给个 给 打个 打 评 算 选 就是 就 是 为 吧 啊 呀 了 呢 哈 哦 嘛
    嗯 额 呃 的 个 会 能 可以 要 想 应该 肯定 绝对 当然 必须 大概 可能 也许 或许 估计
    差不多 大约 约 左右 还是 只能 只 好的 好 行 先 都 得 值得 也 总体 整体 综合 总的来说
    的话 如果 要是 但是 不过 但
    """
    ),
    key=len,
    reverse=True,
)
_CN_SCORE_WORD = re.compile("|".join(map(re.escape, _CN_SCORE_WORDS)))

_FULL_MARKS = re.compile(
    r"满分|最高分|full\s+marks?|full\s+score|top\s+marks?|top\s+score|perfect\s+score"
    r"|max(?:imum)?\s+(?:score|marks|points)|the\s+max(?:imum)?"
)
_FRACTION = re.compile(r"(\d+)\s*分?\s*(?:/|out\s+of)\s*(\d+)(?:\s*分)?")
_CN_FRACTION = re.compile(r"(\d+)\s*分之\s*(\d+)")  # "10分之9": the scale first
# phrases that name only the top of the scale: "out of 10", "满分10分", "10分里", "10分制"
_SCALE_TOP = re.compile(
    r"out\s+of\s+(\d+)|(?:满分|总分)\s*(?:是|为)?\s*(\d+)\s*分?"
    r"|(\d+)\s*分\s*(?:制|里面|里|之中|当中|中)"
    r"|(?:on\s+)?(?:a\s+)?scale\s+(?:of|from)\s+\d+\s*(?:-|to)\s*(\d+)"
)
_TOP_MARK = "\x00"
"""Stands in for a "full marks" phrase once it has been read."""
_FRACTIONAL = re.compile(r"\d\s*(?:[.．点]\s*\d|分?\s*半|\s+and\s+a\s+half)|½|\d\s*⁄\s*2")
_NEGATIVE = re.compile(r"(?:^|[\s(（])[-−]\d")
_PERCENT = re.compile(r"\d\s*[%％]")
_GLUED = re.compile(r"[a-z]\d|\d(?!\s*(?:pts?|points?)\b)[a-z]")
_INTEGER = re.compile(r"\d+")
_SEPARATOR = re.compile(r"[,，。.!！?？;；:：~～\-–—…、()（）\n]+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|'[a-z]+")
_LETTERS = re.compile(r"[a-z\u3400-\u9fff]")


def _chinese_numeral(run: str) -> int | None:
    """0-100 in the forms people write: 七, 十, 十二, 二十, 二十五, 一百; None otherwise."""
    if run in ("一百", "百"):
        return 100
    if len(run) == 1:
        return 10 if run == "十" else _CN_DIGITS.get(run)
    tens, ten, ones = run.partition("十")
    if not ten or len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None  # "七八" (7 or 8?), "十十"
    head = _CN_DIGITS.get(tens, 0 if tens else 1) if tens != "零" else None
    tail = _CN_DIGITS.get(ones, 0 if not ones else -1)
    if head is None or tail < 0 or (tens and head == 0):
        return None
    return head * 10 + tail


def _normalize(text: str) -> str | None:
    """Lower case, normal width, numbers as digits; None when a numeral cannot be read."""
    text = unicodedata.normalize("NFKC", text).strip().lower().replace("’", "'")
    for word, meaning in _CN_WORDS_WITH_NUMERALS.items():
        text = text.replace(word, meaning)
    unreadable = False

    def digits(match: re.Match[str]) -> str:
        nonlocal unreadable
        value = _chinese_numeral(match.group(0))
        unreadable = unreadable or value is None
        return f" {value} "

    text = _CN_NUMERAL.sub(digits, text)
    text = _EN_NUMBER.sub(lambda m: f" {_EN_NUMBERS[m.group(1)]} ", text)
    return None if unreadable else text


def is_fractional(text: str) -> bool:
    """True when the message gives a number with a fraction ("7.5", "8.5分", "七点五")."""
    normalized = _normalize(text)
    return normalized is not None and bool(_FRACTIONAL.search(normalized))


def _says_only_a_score(clause: str) -> bool:
    """True when a clause is made of score words only ("I'd give you", "给你们打", "分吧")."""
    if any(word not in _EN_SCORE_WORDS for word in _WORD.findall(clause)):
        return False
    return not _LETTERS.search(_CN_SCORE_WORD.sub("", _WORD.sub(" ", clause)))


def parse_score(text: str, low: int, high: int) -> int | None:
    """The score in `text` when it names exactly one whole number within [low, high]."""
    normalized = _normalize(text)
    if not normalized or not normalized.strip():
        return None
    if _FRACTIONAL.search(normalized) or _NEGATIVE.search(normalized):
        return None  # "7.5", "-1": a whole number in the scale is needed
    if _PERCENT.search(normalized) or _GLUED.search(normalized):
        return None  # "100%", "1O" (a typo for 10), "3days"
    tops: list[int] = []

    def as_value(match: re.Match[str]) -> str:
        first, second = int(match.group(1)), int(match.group(2))
        value, top = (second, first) if "分之" in match.group(0) else (first, second)
        tops.append(top)
        return f" {value} "

    def as_top(match: re.Match[str]) -> str:
        tops.append(int(next(group for group in match.groups() if group is not None)))
        return f" {_TOP_MARK} " if "满分" in match.group(0) else " "

    normalized = _FRACTION.sub(as_value, normalized)
    normalized = _CN_FRACTION.sub(as_value, normalized)
    normalized = _SCALE_TOP.sub(as_top, normalized)
    if any(top != high for top in tops):
        return None  # "4/5" when asking 0-10: a score on another scale
    full_marks = _FULL_MARKS.findall(normalized)
    numbers = [int(n) for n in _INTEGER.findall(normalized)]
    if len(numbers) > 1 or (numbers and full_marks and numbers[0] != high):
        return None  # "7 or 8", "it took 3 days, I give 8", "满分 8"
    if not numbers and not full_marks and _TOP_MARK not in normalized:
        return None
    value = numbers[0] if numbers else high  # "满分", "full marks", "满分10分"
    normalized = _FULL_MARKS.sub(_TOP_MARK, normalized)
    marker = _INTEGER if numbers else re.compile(_TOP_MARK)
    clause = next(c for c in _SEPARATOR.split(normalized) if marker.search(c))
    if not _says_only_a_score(_INTEGER.sub(" ", clause.replace(_TOP_MARK, " "))):
        return None  # "I waited 3 days", "订单123还没到", "not 10"
    return value if low <= value <= high else None
