"""Sentiment of a tokenized answer: lexicon scores with negation scope, intensifiers and
downtoners, clause weights (what follows "但是 / but" outweighs what came before; a
concession, "虽然 / although", weighs less), wishes ("希望…", "would be nice…") damped, and
irony: praise next to a hardship ("才等了一个月", "took them a month") under a sarcasm cue
("呵呵", "好一个", "oh great", "wow") reads negative."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from flows.analysis import lexicon
from flows.analysis.text import SEPARATOR, key_of

NEUTRAL_BAND = 0.5
"""A total score closer to zero than this is neutral."""
NEGATION_SCOPE = 3
"""A negator reaches this many tokens ahead (within its clause)."""
CONTRAST_WEIGHT = 1.5
CONCESSION_WEIGHT = 0.5
WISH_WEIGHT = 0.3

CONCESSIONS = frozenset(key_of(w) for w in "虽然 虽 尽管 虽说 除了 although though while".split())
WISHES = tuple(
    key_of(w)
    for w in (
        "希望 建议 能不能 可不可以 能否 可以再 如果能 要是能 最好能 期待 盼望 please suggest hope"
        " wish"
    ).split()
) + ("wouldbenice", "maybeadd", "shouldadd", "pleaseadd", "itwouldbe")
"""Wishes and suggestions: their praise words are not praise ("希望发货能快一点")."""

_SCORES: dict[str, float] = {}
for _words, _score in (
    (lexicon.POSITIVE_ZH, 1.0),
    (lexicon.NEGATIVE_ZH, -1.0),
    (lexicon.NEUTRAL_ZH, 0.0),
    (lexicon.POSITIVE_EN, 1.0),
    (lexicon.NEGATIVE_EN, -1.0),
    (lexicon.NEUTRAL_EN, 0.0),
):
    for _word in _words:
        _SCORES.setdefault(key_of(_word), _score)
_SCORES.update({key_of(phrase): score for phrase, score in lexicon.PHRASES.items()})
SCORES = _SCORES
"""Every word or phrase with a sentiment score (0: a neutral verdict)."""
NEGATORS = frozenset(key_of(w) for w in lexicon.NEGATORS)
INTENSIFIERS = {key_of(w): m for w, m in lexicon.INTENSIFIERS.items()}
DOWNTONERS = {key_of(w): m for w, m in lexicon.DOWNTONERS.items()}
CONTRASTS = frozenset(key_of(w) for w in lexicon.CONTRASTS)
SARCASM = tuple(key_of(w) for w in lexicon.SARCASM_MARKERS)

_NUMBER = r"(?:\d+|[一二两三四五六七八九十几半多好]+)"
_LONG = r"(?:周|星期|礼拜|月|年)"
_UNIT = r"(?:分钟|分|钟头|钟|小时|天|日|周|星期|礼拜|个月|月|年)"
_EN_NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|many|few)"
_EN_UNIT = r"(?:minutes?|hours?|days?|weeks?|months?|years?)"
HARDSHIPS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"{_NUMBER}个?多?{_UNIT}多?(?:才|都没|都未|都冇|还没|还未|也没)",  # 四天才到, 一周都没回
        rf"成(?:个|粒)?{_UNIT}",  # Cantonese: 成个礼拜 (a whole week)
        rf"(?:took|waited|waiting|after|over)(?: \w+)?(?: for)? {_EN_NUMBER} (?:more )?{_EN_UNIT}",
        r"(?:[2-9两三四五六七八九十几]|好几)(?:次|遍|趟)",  # 打了五次电话, 问三遍
        r"\b(?:twice|(?:three|four|five|\d+|several|multiple) times|again and again)\b",
    )
)
"""Facts that tell of a hardship whatever the words around them."""
IRONIC_ONLY = (re.compile(rf"才(?:等了|用了|等|过了)?{_NUMBER}个?{_LONG}"),
               re.compile(rf"only took(?: \w+)? {_EN_NUMBER} {_EN_UNIT}"))
""""才等了一个月": a long time called short — irony by itself."""


@dataclass(frozen=True)
class Reading:
    """The outcome of scoring: the total and whether any verdict word was seen."""

    score: float
    verdicts: int


def _clauses(tokens: Sequence[str]) -> list[tuple[list[str], float]]:
    clauses: list[tuple[list[str], float]] = []
    current: list[str] = []
    weight = 1.0
    for token in tokens:
        if token == SEPARATOR or token in CONTRASTS or token in CONCESSIONS:
            if current:
                clauses.append((current, weight))
            current = []
            if token in CONTRASTS:
                weight = CONTRAST_WEIGHT
            elif token in CONCESSIONS:
                weight = CONCESSION_WEIGHT
            else:
                weight = 1.0
            continue
        current.append(token)
    if current:
        clauses.append((current, weight))
    return clauses


def items_of(clause: Sequence[str], longest: int = 6) -> list[str]:
    """Tokens regrouped into the longest known words and phrases ("没 毛病" → "没毛病")."""
    known = SCORES.keys() | NEGATORS | INTENSIFIERS.keys() | DOWNTONERS.keys()
    items: list[str] = []
    i = 0
    while i < len(clause):
        for j in range(min(len(clause), i + longest), i, -1):
            joined = "".join(clause[i:j])
            if j == i + 1 or joined in known:
                items.append(joined)
                i = j
                break
    return items


def _score_clause(items: Sequence[str]) -> tuple[float, int]:
    total = 0.0
    verdicts = 0
    negations = 0
    reach = 0
    multiplier = 1.0
    last_index: int | None = None
    last_value = 0.0
    for index, item in enumerate(items):
        sentiment_ahead = any(it in SCORES for it in items[index + 1 : index + 3])
        if item in NEGATORS and (sentiment_ahead or item not in SCORES):
            negations, reach = negations + 1, NEGATION_SCOPE
            continue
        if item in INTENSIFIERS and sentiment_ahead:
            multiplier *= INTENSIFIERS[item]
            continue
        if item in DOWNTONERS:
            if sentiment_ahead:
                multiplier *= DOWNTONERS[item]
            elif last_index is not None and index - last_index <= 2:
                total -= last_value * (1 - DOWNTONERS[item])
                last_value *= DOWNTONERS[item]
            continue
        if item in SCORES:
            verdicts += 1
            value = SCORES[item] * multiplier
            if negations % 2 == 1 and reach > 0:
                value = -value * (0.9 if value > 0 else 0.7)
            total += value
            last_index, last_value = index, value
            negations, reach, multiplier = 0, 0, 1.0
            continue
        reach -= 1
        if reach <= 0:
            negations = 0
    return total, verdicts


def read(tokens: Sequence[str], normalized: str) -> Reading:
    """Score tokens (clauses ended by SEPARATOR) of an answer whose normalized text is given."""
    total = 0.0
    verdicts = 0
    for clause, weight in _clauses(tokens):
        score, seen = _score_clause(items_of(clause))
        total += score * weight
        verdicts += seen
    compact = normalized.replace(" ", "")
    if any(wish in compact for wish in WISHES):
        total *= WISH_WEIGHT
    hardships = sum(len(pattern.findall(normalized)) for pattern in HARDSHIPS)
    ironic = any(pattern.search(normalized) for pattern in IRONIC_ONLY)
    sarcastic = ironic or any(marker in compact for marker in SARCASM)
    if hardships or ironic:
        total -= 1.0 * max(hardships, 1)
        verdicts += 1
    if sarcastic and total > -NEUTRAL_BAND and (hardships or ironic or _has_negative(tokens)):
        total = -abs(total) - 1.0
    return Reading(total, verdicts)


def _has_negative(tokens: Sequence[str]) -> bool:
    return any(SCORES.get(item, 0) < 0 for item in items_of([t for t in tokens if t != "|"]))
