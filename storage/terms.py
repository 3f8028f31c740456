"""Search terms: how customer text and search queries are split for the transcript index.

Text is normalized (NFKC, so full-width `ＡＢＣ１２３` reads as `abc123`; case-folded;
traditional Chinese converted to simplified with OpenCC, so 態度 and 态度 are one term) and
split into runs:

- a run of CJK characters (Chinese, Japanese kana, Korean hangul) gives every character and
  every overlapping pair (the classic CJK analyzer): `物流太慢` → 物 流 太 慢 物流 流太 太慢;
- a run of other letters and digits is one word, case-folded: `Delivery` → `delivery`;
- everything else (spaces, punctuation, emoji) separates runs.

A query is split the same way, except that a CJK run of two or more characters gives only its
pairs (all of which must be found): `物流太` → 物流 流太; a single character stays one term.
So any 1-, 2- or longer CJK substring of what a customer wrote is found, and whole words in
other scripts are found in any case. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import opencc

CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_RUNS = re.compile(rf"([{CJK}]+)|([^\W_{CJK}]+)")
MAX_TERM = 32
"""Longer words are cut to this many characters (in the index and in queries alike)."""
MAX_QUERY_TERMS = 24
"""A query gives at most this many terms (the first ones); enough for a long sentence."""


@cache
def _simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """NFKC (full-width to half-width, compatibility forms), case folding, and traditional
    Chinese to simplified."""
    return str(_simplified().convert(unicodedata.normalize("NFKC", text).casefold()))


def runs(text: str) -> list[tuple[str, bool]]:
    """The normalized runs of `text`: (run, is_cjk), in order."""
    return [(cjk or word, bool(cjk)) for cjk, word in _RUNS.findall(normalize(text))]


def terms_of(text: str) -> set[str]:
    """Every term the index keeps for `text`."""
    found: set[str] = set()
    for run, cjk in runs(text):
        if cjk:
            found.update(run)
            found.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            found.add(run[:MAX_TERM])
    return found


def query_terms(query: str) -> tuple[str, ...]:
    """The terms a query needs, all of them (at most MAX_QUERY_TERMS, duplicates removed)."""
    wanted: dict[str, None] = {}
    for run, cjk in runs(query):
        if cjk and len(run) > 1:
            wanted.update((run[i : i + 2], None) for i in range(len(run) - 1))
        else:
            wanted[run[:MAX_TERM] if not cjk else run] = None
    return tuple(wanted)[:MAX_QUERY_TERMS]
