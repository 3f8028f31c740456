"""Sentiment of a tokenized answer: lexicon scores with negation scope, intensifiers and
downtoners, clause weights (what follows "但是 / but" outweighs what came before; a
concession, "虽然 / although", weighs less), wishes ("希望…", "would be nice…") damped, and
irony: praise next to a hardship ("才等了一个月", "took them a month") under a sarcasm cue
("呵呵", "好一个", "oh great", "wow") reads negative."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import flows.analysis.lexicon as lexicon
import flows.analysis.vader as vader
from flows.analysis.text import SEPARATOR, key_of

NEUTRAL_BAND = 0.5
"""A total score closer to zero than this is neutral."""
NEGATION_SCOPE = 3
"""A negator reaches this many tokens ahead (within its clause)."""
CONTRAST_WEIGHT = 1.5
CONCESSION_WEIGHT = 0.5
WISH_WEIGHT = 0.3

CONCESSIONS = frozenset(key_of(w) for w in lexicon.CONCESSIONS)
WISHES = tuple(key_of(w) for w in lexicon.WISHES)

_SCORES: dict[str, float] = {}
for _list, _score in (
    (lexicon.POSITIVE_ZH, 1.0),
    (lexicon.MORE_POSITIVE_ZH, 1.0),
    (lexicon.MORE_NEGATIVE_ZH, -1.0),
    (lexicon.LONG_TAIL_NEGATIVE_ZH, -1.0),
    (lexicon.LONG_TAIL_POSITIVE_ZH, 1.0),
    (lexicon.LONG_TAIL_NEGATIVE_EN, -1.0),
    (lexicon.LONG_TAIL_POSITIVE_EN, 1.0),
    (lexicon.NEGATIVE_ZH, -1.0),
    (lexicon.NEUTRAL_ZH, 0.0),
    (lexicon.POSITIVE_EN, 1.0),
    (lexicon.NEGATIVE_EN, -1.0),
    (lexicon.NEUTRAL_EN, 0.0),
):
    for _word in _list:
        _SCORES.setdefault(key_of(_word), _score)
_SCORES.update({key_of(phrase): score for phrase, score in lexicon.PHRASES.items()})
SCORES = {**vader.valences(), **_SCORES}
"""Every word or phrase with a sentiment score (0: a neutral verdict)."""
NEGATORS = frozenset(key_of(w) for w in lexicon.NEGATORS)
INTENSIFIERS = {key_of(w): m for w, m in lexicon.INTENSIFIERS.items()}
DOWNTONERS = {key_of(w): m for w, m in lexicon.DOWNTONERS.items()}
AFTER_INTENSIFIERS = dict.fromkeys(lexicon.AFTER_INTENSIFIERS, 1.5)
CONTRASTS = frozenset(key_of(w) for w in lexicon.CONTRASTS)
SARCASM = tuple(key_of(w) for w in lexicon.SARCASM_MARKERS)
EVENTS = frozenset(key_of(w) for w in lexicon.EVENTS)
COSTS = frozenset(key_of(w) for w in lexicon.COSTS)
TIMES = frozenset(key_of(w) for w in lexicon.TIMES)
MATERIALS = frozenset(key_of(w) for w in lexicon.MATERIALS)
COMPETITORS = frozenset(key_of(w) for w in lexicon.COMPETITORS)
LEANING_POSITIVE = frozenset(key_of(w) for w in lexicon.LEANING_POSITIVE)
CONTEXTUAL: dict[str, tuple[frozenset[str], float, float]] = {
    **{w: (COSTS, -1.0, 1.0) for w in ("高", "high", "higher", "偏高")},
    **{w: (COSTS, 1.0, -1.0) for w in ("低", "low", "lower", "偏低")},
    **{w: (TIMES, -1.0, 0.0) for w in ("长", "long", "longer", "漫长")},
    **{w: (TIMES, 1.0, 0.0) for w in ("短", "short", "shorter")},
    **{w: (MATERIALS, -1.0, 1.0) for w in ("cheap", "cheaply", "廉价")},
}
"""Words whose sign depends on the clause: a high price is bad, high quality good."""

_NUMBER = r"(?:\d+|[一二两三四五六七八九十几半多好]+)"
_LONG = r"(?:周|星期|礼拜|月|年)"
_UNIT = r"(?:分钟|分|钟头|钟|小时|天|日|周|星期|礼拜|个月|月|年)"
_EN_NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|many|few)"
_EN_UNIT = r"(?:minutes?|hours?|days?|weeks?|months?|years?)"
_EN_LONG_UNIT = r"(?:hours?|days?|weeks?|months?|years?)"
HARDSHIPS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"{_NUMBER}个?多?{_UNIT}多?了?(?:才|都没|都未|都冇|还没|还未|也没|不|没|还是)",  # 四天才到
        rf"成(?:个|粒)?{_UNIT}",  # Cantonese: 成个礼拜 (a whole week)
        rf"(?:等|排|排队|花|耗|拖|站|跑|叫|折腾|搞|弄|忙)了?(?:快|将近|足足|整整|差不多)?{_NUMBER}个?多?{_UNIT}",
        rf"(?:waited|waiting|spent|wasted|over)(?: \w+){{0,3}}? {_EN_NUMBER} (?:more )?{_EN_UNIT}",
        rf"(?:took|after)(?: \w+){{0,3}}? {_EN_NUMBER} (?:more )?{_EN_LONG_UNIT}",
        r"(?:[2-9两三四五六七八九十几]|好几|好多|很多)(?:次|遍|趟)",  # 打了五次电话, 问三遍
        r"\b(?:twice|(?:three|four|five|\d+|several|multiple) times|again and again)\b",
        r"\bevery (?:\w+ )?(?:minutes?|time|day|hour|week)\b",
        rf"\bfor (?:over |almost |nearly )?{_EN_NUMBER} (?:minutes?|hours?)\b",
    )
)
"""Facts that tell of a hardship whatever the words around them."""
PROMPT = re.compile(rf"{_NUMBER}个?多?{_UNIT}(?:之?内)?就|\bwithin (?:\d+|a|an|one|two|few) ")
"""Done soon: "七天就退回来了", "within a day" (the words around may still say it broke)."""
IRONIC_ONLY = (
    re.compile(rf"才(?:等了|用了|等|过了)?{_NUMBER}个?{_LONG}"),
    re.compile(rf"only took(?: \w+)? {_EN_NUMBER} {_EN_UNIT}"),
)
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
                if token in SCORES:
                    current.append(token)  # 可惜, unfortunately: a contrast that is a regret
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
    known = _KNOWN
    items: list[str] = []
    i = 0
    while i < len(clause):
        for j in range(min(len(clause), i + longest), i, -1):
            joined = "".join(clause[i:j])
            if joined in known:
                items.append(joined)
                i = j
                break
            if j == i + 1:
                items.extend(_parts(joined))
                i = j
    return items


def _english_base(word: str) -> str:
    """An inflected English word we do not score as the scored word it comes from
    (professionally → professional, faster → fast, freezing → freeze), else itself."""
    if word in _KNOWN or len(word) < 5 or not word.isalpha():
        return word
    for suffix, replacement in _INFLECTIONS:
        if word.endswith(suffix):
            base = word[: -len(suffix)] + replacement
            if base in _KNOWN:
                return base
    return word


_INFLECTIONS = (
    ("ally", "al"), ("ily", "y"), ("ly", ""), ("iest", "y"), ("ier", "y"), ("est", ""),
    ("er", ""), ("ied", "y"), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("es", ""),
    ("s", ""), ("ness", ""),
)  # fmt: skip


def _parts(token: str) -> list[str]:
    """A word we do not score split into scored parts, if it has any: theme words such as
    解决问题 or 处理好 stay whole for themes but say 解决 / 好 to sentiment; 被扣 is 被 + 扣."""
    if token.isascii():
        return [_english_base(token)]
    if len(token) < 2:
        return [token]
    if len(token) == 2:
        return list(token) if token[0] in _KNOWN and token[1] in _KNOWN else [token]
    for size in range(len(token) - 1, 1, -1):
        if token[:size] in _KNOWN:
            return [token[:size], *_parts(token[size:])]
        if token[-size:] in _KNOWN:
            return [*_parts(token[:-size]), token[-size:]]
    return [token]


def _score_clause(items: Sequence[str]) -> tuple[float, int]:
    total = 0.0
    verdicts = 0
    negations = 0
    reach = 0
    multiplier = 1.0
    last_index: int | None = None
    last_value = 0.0
    present = set(items)
    for index, item in enumerate(items):
        ahead = list(islice((it for it in items[index + 1 :] if it not in _LIGHT), NEGATION_SCOPE))
        if item in NEGATORS and (item not in SCORES or any(_scored(it) for it in ahead)):
            negations, reach = negations + 1, NEGATION_SCOPE
            continue
        if item in INTENSIFIERS and any(_scored(it) for it in ahead[:2]):
            multiplier *= INTENSIFIERS[item]
            continue
        if item in AFTER_INTENSIFIERS and last_index is not None and index - last_index <= 2:
            total += last_value * (AFTER_INTENSIFIERS[item] - 1)  # 棒极了, 烦死了
            last_value *= AFTER_INTENSIFIERS[item]
            continue
        if item in DOWNTONERS:
            if any(_scored(it) for it in ahead[:2]):
                multiplier *= DOWNTONERS[item]
            elif last_index is not None and index - last_index <= 2:
                total -= last_value * (1 - DOWNTONERS[item])
                last_value *= DOWNTONERS[item]
            continue
        if item in _BARE_INTENSIFIERS and index + 1 < len(items):
            following = items[index + 1]
            if following not in _LIGHT and following not in _PARTICLES:
                continue  # 好 before a word we do not know: "very …", not "good"
        if item in _ALMOST and index + 1 < len(items) and _NUMERAL.match(items[index + 1]):
            continue  # 快一百块: "almost", not "fast"
        negated = negations % 2 == 1 and reach > 0
        if item in SCORES or item in CONTEXTUAL or (item in EVENTS and negated):
            verdicts += 1
            value = _value_of(item, present) * multiplier
            if item in LEANING_POSITIVE and multiplier > 1:
                value = 0.7  # 很OK, 挺可以
            if value > 0 and present & COMPETITORS:
                value = -value  # 别家便宜一半: their praise is our reproach
            if negated:
                value = -value * (0.9 if value > 0 else 0.7)
            total += value
            last_index, last_value = index, value
            negations, reach, multiplier = 0, 0, 1.0
            continue
        if item not in _LIGHT:
            reach -= 1
        if reach <= 0:
            negations = 0
    return total, verdicts


_LIGHT = frozenset(
    lexicon.split_words(
        "的 了 得 地 有 怎么 那么 这么 那样 这样 说 讲 想象 想象中 我 你 他 她 它 我们 他们 一个 个"
        " 一 the a an as that so be been me my you it them him her us"
    )
)
"""Words that do not use up a negator's reach ("没有广告说的好", "not as good")."""


_ALMOST = frozenset({"快", "快要", "将近"})
_NUMERAL = re.compile(r"[0-9一二两三四五六七八九十百千万几半]")
_BARE_INTENSIFIERS = frozenset({"好"})
"""Words that are praise alone ("服务好") but an intensifier before another word ("好耐")."""
_PARTICLES = frozenset(lexicon.split_words("了 的 啊 呀 啦 吧 呢 嘛 哦 喔 咯 喇 嘅 咗 哋 噢 耶 哈"))


def _scored(item: str) -> bool:
    return item in SCORES or item in CONTEXTUAL or item in EVENTS


def _value_of(item: str, clause: set[str]) -> float:
    if item in CONTEXTUAL:
        cues, with_cue, without = CONTEXTUAL[item]
        return with_cue if clause & cues else without
    if item in EVENTS:
        return 1.0  # "到账", "arrived": only their absence says something (negated above)
    return SCORES[item]


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
    if PROMPT.search(normalized) and not ironic:
        total += 0.5
        verdicts += 1
    if hardships or ironic:
        total -= 1.0 * max(hardships, 1)
        verdicts += 1
    if sarcastic and total > -NEUTRAL_BAND and (hardships or ironic or _has_negative(tokens)):
        total = -abs(total) - 1.0
    return Reading(total, verdicts)


def is_request(normalized: str) -> bool:
    """A question or a wish rather than a verdict ("请问怎么退款？", "希望增加夜间模式")."""
    compact = normalized.replace(" ", "")
    return bool(_QUESTION.search(normalized)) or any(wish in compact for wish in WISHES)


_QUESTION = re.compile(r"[?？]|请问|吗$|^(?:how|what|why|when|where|can|could|is|are|do|does)\b")

_KNOWN = SCORES.keys() | NEGATORS | INTENSIFIERS.keys() | DOWNTONERS.keys() | EVENTS | COSTS
_KNOWN |= AFTER_INTENSIFIERS.keys()


def _has_negative(tokens: Sequence[str]) -> bool:
    return any(SCORES.get(item, 0) < 0 for item in items_of([t for t in tokens if t != "|"]))
