"""Reading a score out of what a customer types: "9", "9分", "九分", "nine", "10/10"."""

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
_CN_RUN = re.compile(r"[零〇一二两三四五六七八九十]+")
_CN_FILLER = re.compile(r"[分吧啊呀了给打我就是的嗯\s!！。.,，~～]")
_EN_NUMBERS = {
    "zero": 0,
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
}
_EN_FILLER = {
    "i",
    "id",
    "i'd",
    "would",
    "will",
    "give",
    "say",
    "it",
    "a",
    "an",
    "maybe",
    "probably",
    "points",
    "point",
    "pts",
    "out",
    "of",
    "score",
    "rate",
    "rating",
    "my",
    "is",
    "about",
    "like",
    "solid",
    "just",
    "hmm",
    "um",
    "ok",
    "okay",
}
_FRACTION = re.compile(r"(\d+)\s*(?:/|out of|分之)\s*(\d+)")
_CN_FRACTION = re.compile(r"([零〇一二两三四五六七八九十]+)分之([零〇一二两三四五六七八九十]+)")
_FRACTION_WORD = re.compile(r"/|out of|分之")
_NEGATIVE = re.compile(r"(?:^|[^\w])[-−]\s*\d")
_INTEGER = re.compile(r"\d+")
_WORD = re.compile(r"[a-z']+")


_LEADING = re.compile(r"(\d+)\s*(?:分|points?|pts)?\s*(?:[-–—:：,，。.!！;；~～]\s*.*)?", re.DOTALL)
_LETTERS = re.compile(r"[a-z\u3400-\u9fff]")


def _stands_alone(text: str, number: str) -> bool:
    """True when the number is the answer, not part of a sentence ("I waited 3 days").

    Either the message starts with it and any comment follows a separator ("9 - 很好",
    "9分，服务很好", "10! great"), or every other word is filler ("给9分吧", "I'd give it an 8").
    """
    leading = _LEADING.fullmatch(text)
    if leading and leading.group(1) == number:
        return True
    rest = text.replace(number, " ", 1)
    if any(word not in _EN_FILLER for word in _WORD.findall(rest)):
        return False
    return not _LETTERS.search(_CN_FILLER.sub("", _WORD.sub(" ", rest)))


def _chinese_numeral(run: str) -> int | None:
    if run == "十":
        return 10
    if len(run) == 1:
        return _CN_DIGITS.get(run)
    if len(run) == 2 and run[0] == "十":
        tail = _CN_DIGITS.get(run[1])
        return None if tail is None else 10 + tail
    if len(run) == 2 and run[1] == "十":
        head = _CN_DIGITS.get(run[0])
        return None if head is None else head * 10
    return None


def parse_score(text: str, low: int, high: int) -> int | None:
    """The score in `text` when it names exactly one whole number within [low, high]."""
    normalized = unicodedata.normalize("NFKC", text).strip().lower()
    if not normalized:
        return None
    spelled = _CN_FRACTION.search(normalized)
    if spelled:
        # "十分之九": denominator first, in Chinese numerals
        out_of, part = _chinese_numeral(spelled.group(1)), _chinese_numeral(spelled.group(2))
        if out_of is None or part is None:
            return None
        normalized = normalized.replace(spelled.group(0), f" {part}/{out_of} ")
    fraction = _FRACTION.search(normalized)
    if fraction:
        # "10/10", "9 out of 10"; "10分之9" reads denominator first. A fraction of another
        # scale ("4/5" when asking 0-10) is not a score on this one.
        first, second = int(fraction.group(1)), int(fraction.group(2))
        value, out_of = (second, first) if "分之" in fraction.group(0) else (first, second)
        normalized = normalized.replace(fraction.group(0), " ")
        if _INTEGER.search(normalized) or out_of != high:
            return None
        return value if low <= value <= high else None
    if _FRACTION_WORD.search(normalized) or _NEGATIVE.search(normalized):
        return None  # "nine/10" or "-1": not a plain score
    integers = _INTEGER.findall(normalized)
    if integers:
        if len(integers) != 1 or re.search(r"\d[.,]\d|\d[a-z]|[a-z]\d", normalized):
            return None  # "7 or 8", "8.5", "1O"
        value = int(integers[0])
        if not low <= value <= high or not _stands_alone(normalized, integers[0]):
            return None
        return value
    runs = _CN_RUN.findall(normalized)
    if len(runs) == 1 and not _CN_FILLER.sub("", normalized.replace(runs[0], "", 1)):
        numeral = _chinese_numeral(runs[0])
        return numeral if numeral is not None and low <= numeral <= high else None
    words = _WORD.findall(normalized)
    numbers = [_EN_NUMBERS[word] for word in words if word in _EN_NUMBERS]
    if len(numbers) == 1 and all(word in _EN_NUMBERS or word in _EN_FILLER for word in words):
        return numbers[0] if low <= numbers[0] <= high else None
    return None
