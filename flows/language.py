"""Which language to speak: the flow's default, a platform hint, or what the customer writes."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def normalize(tag: str | None) -> str | None:
    """`zh-CN`, `zh_Hans`, `ZH` -> `zh`; `en-US` -> `en`; empty -> None."""
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip())[0].lower()
    return primary if re.fullmatch(r"[a-z]{2}", primary) else None


def detect(text: str) -> str | None:
    """`zh` for Chinese text, `en` for a few English words, None when a message tells nothing
    (a number, an emoji, a single short word)."""
    if _CJK.search(text):
        return "zh"
    words = _LATIN_WORD.findall(text)
    if len(words) >= 3 or (len(words) == 2 and sum(map(len, words)) >= 7):
        return "en"
    return None


def choose(supported: list[str], default: str, *hints: str | None) -> str:
    """The first hint the flow supports, else the flow's default."""
    for hint in hints:
        language = normalize(hint)
        if language in supported:
            return language
    return default
