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
