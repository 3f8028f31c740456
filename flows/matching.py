"""Matching what a customer typed against keywords and choices."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from flows.model import Choice

_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u4e00-\u9fff]")

DEFAULT_HANDOFF_KEYWORDS = (
    "人工",
    "转人工",
    "人工客服",
    "找人工",
    "真人",
    "客服",
    "human",
    "agent",
    "talk to a human",
    "speak to a human",
    "real person",
    "talk to an agent",
    "speak to an agent",
    "/human",
)
STOP_KEYWORDS = ("/stop", "stop", "停止", "退出", "结束调查", "quit", "unsubscribe")
SKIP_KEYWORDS = ("skip", "跳过", "pass", "无", "没有", "no comment")


def simplify(text: str) -> str:
    """Lower case, width-normalized, without spaces or punctuation."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text).lower())


def _is_phrase(keyword: str) -> bool:
    if _CJK.search(keyword):
        return len(simplify(keyword)) >= 3
    return len(keyword.split()) >= 2


def matches_keyword(text: str, keywords: Iterable[str]) -> bool:
    """True when the message is one of the keywords, or contains a phrase keyword
    ("我要转人工" contains 转人工; "the agent was rude" does not ask for an agent)."""
    message = simplify(text)
    if not message and not text.strip().startswith("/"):
        return False
    for keyword in keywords:
        if keyword.startswith("/"):
            if text.strip().lower().split("@")[0] == keyword.lower():
                return True
            continue
        wanted = simplify(keyword)
        if message == wanted or (_is_phrase(keyword) and wanted in message):
            return True
    return False


def match_choice(text: str, choices: list[Choice]) -> str | None:
    """The value of the choice a text names: its number, its value or any of its labels."""
    wanted = simplify(text)
    if not wanted:
        return None
    if wanted.isdigit():
        index = int(wanted)
        return choices[index - 1].value if 1 <= index <= len(choices) else None
    for choice in choices:
        labels = [choice.label] if isinstance(choice.label, str) else list(choice.label.values())
        if wanted == simplify(choice.value) or any(wanted == simplify(x) for x in labels):
            return choice.value
    return None


DEFAULT_ALERT_WORDS = (
    "投诉",
    "退款",
    "12315",
    "消协",
    "律师",
    "起诉",
    "lawyer",
    "attorney",
    "legal action",
    "sue you",
    "refund",
    "cancel my account",
)
"""Words in any typed message that bring in a person at once (settings: `alert_words`)."""


class AlertWords:
    """Words that open a case wherever they appear in a message.

    A word with Chinese characters matches anywhere, spaces and punctuation ignored
    ("我要 投诉！" holds 投诉); a number matches when no digit touches it (12315, not
    123156); other words and phrases match as whole words, any run of spaces or
    punctuation between a phrase's words ("Cancel my   account!" holds "cancel my
    account"; "lawyerly" does not hold "lawyer"). Case and full-width forms do not matter.
    Negation is not read: "not a lawyer joke" holds "lawyer" — a case opened for nothing
    costs an agent a minute, a threat missed costs a customer.
    """

    def __init__(self, words: Iterable[str], priority: str = "urgent") -> None:
        self.words = tuple(w for w in (x.strip() for x in words) if simplify(w))
        self.priority = priority
        self._cjk = tuple((w, simplify(w)) for w in self.words if _CJK.search(w))
        latin = [w for w in self.words if not _CJK.search(w)]
        self._patterns = tuple(_pattern(w) for w in latin)

    def __bool__(self) -> bool:
        return bool(self.words)

    def found_in(self, text: str) -> str | None:
        """The first alert word the text holds, or None."""
        if self._cjk:
            squeezed = simplify(text)
            for word, wanted in self._cjk:
                if wanted in squeezed:
                    return word
        normal = unicodedata.normalize("NFKC", text).lower()
        for word, pattern in self._patterns:
            if pattern.search(normal):
                return word
        return None


def _pattern(word: str) -> tuple[str, re.Pattern[str]]:
    normal = unicodedata.normalize("NFKC", word).lower()
    parts = [re.escape(p) for p in _PUNCTUATION.split(normal) if p]
    body = r"[\s\W_]+".join(parts)
    before = r"(?<!\d)" if parts[0][:1].isdigit() else r"(?<!\w)"
    after = r"(?!\d)" if parts[-1][-1:].isdigit() else r"(?!\w)"
    return word, re.compile(before + body + after)
