"""`analyze(text, book)`: themes, sentiment and vagueness of one open answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import flows.analysis.lexicon as lexicon
import flows.analysis.sentiment as sentiment
from flows.analysis.text import SEPARATOR, Vocabulary, key_of, normalize, tokens_of
from flows.analysis.themes import ThemeBook, default_book

Sentiment = Literal["positive", "neutral", "negative"]
SENTIMENTS: tuple[Sentiment, ...] = ("positive", "neutral", "negative")
MAX_CHARS = 2000
"""Only the start of a longer text is read (an open answer is a few sentences)."""
VAGUE_MAX_WORDS = 4
"""An answer with no theme and at most this many other words is vague ("不好", "meh")."""
LONGEST_WORD = 6
"""A theme word or phrase spans at most this many tokens."""
TOPIC_WITHOUT_VERDICT = -sentiment.NEUTRAL_BAND
"""The score of an answer that names a topic but no verdict at all: in the labelled answers
such answers were complaints two times in three ("窗口就开了一个", "the jacket fell apart")."""
FACT_MIN_WORDS = 3
"""...and a bare topic ("物流", "shipping") is not a fact told: it stays neutral."""
DELIVERY = "delivery"
WAIT = "wait"


@dataclass(frozen=True)
class TextAnalysis:
    """What one answer says: theme keys (book order, possibly none), overall sentiment, and
    whether it is too vague to act on ("不好", "meh": no theme and at most a few words)."""

    themes: tuple[str, ...]
    sentiment: Sentiment
    vague: bool


@dataclass(frozen=True)
class _Index:
    strong: dict[str, frozenset[str]]
    weak: dict[str, frozenset[str]]
    vocabulary: Vocabulary


@lru_cache(maxsize=8)  # a process keeps the few books it uses (admins edit words)
def _index(book: ThemeBook) -> _Index:
    strong: dict[str, set[str]] = {}
    weak: dict[str, set[str]] = {}
    for theme in book.themes:
        for word in theme.words:
            table = weak if word.startswith("~") else strong
            table.setdefault(key_of(word.lstrip("~")), set()).add(theme.key)
    known = [*strong, *weak, *sentiment.SCORES, *sentiment.NEGATORS, *sentiment.INTENSIFIERS]
    known += [*sentiment.DOWNTONERS, *sentiment.CONTRASTS, *lexicon.SLANG_EN.values()]
    known += [*sentiment.EVENTS, *sentiment.CONTEXTUAL]
    return _Index(
        {k: frozenset(v) for k, v in strong.items()},
        {k: frozenset(v) for k, v in weak.items()},
        Vocabulary(known),
    )


def _themes_of(tokens: Sequence[str], index: _Index, order: Sequence[str]) -> tuple[str, ...]:
    found: set[str] = set()
    weak_waits = False
    clause: list[str] = []
    for token in [*tokens, SEPARATOR]:
        if token != SEPARATOR and token not in sentiment.CONTRASTS:
            clause.append(token)
            continue
        strong, weak = _clause_themes(clause, index)
        found |= strong or weak
        weak_waits |= not strong and WAIT in weak
        clause = []
    if weak_waits and DELIVERY in found:
        found.discard(WAIT)  # "等了一周才到": the wait is the delivery's
    return tuple(key for key in order if key in found)


def _clause_themes(clause: Sequence[str], index: _Index) -> tuple[set[str], set[str]]:
    """Longest words first, each token cited once: "客服 态度" gives staff, "money back" refund."""
    strong: set[str] = set()
    weak: set[str] = set()
    idiom_end = 0  # weak words inside an idiom do not count: 没问题 is not about a problem
    i = 0
    while i < len(clause):
        step = 1
        for j in range(min(len(clause), i + LONGEST_WORD), i, -1):
            joined = "".join(clause[i:j])
            if joined in index.strong or joined in index.weak:
                strong |= index.strong.get(joined, frozenset())
                if j > idiom_end:
                    weak |= index.weak.get(joined, frozenset())
                step = j - i
                break
            if joined in sentiment.SCORES and j > i + 1:
                idiom_end = max(idiom_end, j)
        i += step
    return strong, weak


def _is_vague(tokens: Sequence[str], themes: tuple[str, ...]) -> bool:
    if themes:
        return False
    words = [t for t in sentiment.items_of([t for t in tokens if t != SEPARATOR])]
    filler = sentiment.NEGATORS | sentiment.INTENSIFIERS.keys() | sentiment.DOWNTONERS.keys()
    content = [w for w in words if w not in filler and w not in _PARTICLES]
    unknown = [w for w in content if w not in sentiment.SCORES]
    return len(content) <= VAGUE_MAX_WORDS and len(unknown) <= 2


_PARTICLES = frozenset(
    lexicon.split_words(
        "了 的 啦 吧 啊 呀 呢 嘛 哦 喔 咯 喇 嘅 咗 哋 也 都 还 就 是 我 你 他 她 它 我们 你们"
        " 觉得 感觉 个 这 那 这个 那个 吗 有 在 总体 整体 总的来说 体验 一切 it its is was i the"
        " a this that overall experience so just all everything am are be"
    )
)


def analyze(text: str, book: ThemeBook | None = None) -> TextAnalysis:
    """Themes (from `book`, the default book when None), sentiment and vagueness of `text`."""
    book = book or default_book()
    index = _index(book)
    text = text[:MAX_CHARS]
    tokens = tokens_of(text, index.vocabulary)
    themes = _themes_of(tokens, index, book.keys())
    normalized = normalize(text)
    reading = sentiment.read(tokens, normalized)
    score = reading.score
    told = len([token for token in tokens if token != SEPARATOR]) >= FACT_MIN_WORDS
    if themes and told and not reading.verdicts and not sentiment.is_request(normalized):
        score = TOPIC_WITHOUT_VERDICT  # "杯子有股塑料味": a topic told flatly is a complaint
    polarity: Sentiment = "neutral"
    if score >= sentiment.NEUTRAL_BAND:
        polarity = "positive"
    elif score <= -sentiment.NEUTRAL_BAND:
        polarity = "negative"
    return TextAnalysis(themes, polarity, _is_vague(tokens, themes))


def is_vague(text: str, book: ThemeBook | None = None) -> bool:
    """True when `text` is too vague to act on: no concrete topic, only a verdict
    ("一般般", "不好", "bad", "meh", "ok") or nothing at all."""
    return analyze(text, book).vague
