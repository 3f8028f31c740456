"""From raw text to tokens: normalization (NFKC, lower case, traditional → simplified with
Taiwan phrasing, via OpenCC), jieba segmentation of Chinese runs, English words with slang and
typos mapped to known words, and compounds split into negator/intensifier + word."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable
from functools import cache
from typing import Any

import opencc

import flows.analysis.lexicon as lexicon

SEPARATOR = "|"
"""The token that ends a clause (punctuation, a line break)."""

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECES = re.compile(
    rf"(?P<cjk>[{_CJK}]+)|(?P<face>[:;=]-?[()dp](?![a-z])|<3)|(?P<latin>[a-z0-9][a-z0-9'’/+\-]*)"
    r"|(?P<emoji>[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50])|(?P<stop>[,.!?;:，。！？；：、…~～\n]+)"
)
_CJK_RUN = re.compile(rf"[{_CJK}]")
_SUFFIXES = (
    "极了",
    "透了",
    "死了",
    "爆了",
    "得很",
    "了",
    "的",
    "啦",
    "咗",
    "哋",
    "呢",
    "吧",
    "啊",
    "呀",
    "嘅",
    "喇",
    "咯",
    "哦",
    "嘛",
)
_lock = threading.Lock()


@cache
def _converter() -> Any:
    return opencc.OpenCC("tw2sp")


def normalize(text: str) -> str:
    """NFKC, case folding, traditional (Taiwan, Hong Kong) to simplified with Mainland
    phrasing (軟體 → 软件), curly apostrophes made straight."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return str(_converter().convert(folded))


class Vocabulary:
    """The words the analyzer knows (lexicon, phrases, theme words), keyed without spaces,
    with an index of the English ones by their one-letter deletions for typo lookups."""

    def __init__(self, words: Iterable[str]) -> None:
        self.keys = frozenset(key_of(word) for word in words)
        self.english = frozenset(w for w in self.keys if w.isascii() and w.isalpha())
        self._deletions: dict[str, set[str]] = {}
        for word in self.english:
            if len(word) >= MIN_CORRECTED:
                for variant in _deletions(word):
                    self._deletions.setdefault(variant, set()).add(word)
        self._corrected: dict[str, str | None] = {}

    def correction(self, word: str) -> str | None:
        """The known word a misspelt one stands for (one edit, two for long words), if one
        is nearest; remembered (at most CORRECTIONS_KEPT)."""
        if word not in self._corrected:
            if len(self._corrected) >= CORRECTIONS_KEPT:
                self._corrected.clear()
            candidates: set[str] = set()
            for variant in _deletions(word):
                candidates |= self._deletions.get(variant, set())
            self._corrected[word] = _closest(word, candidates)
        return self._corrected[word]


MIN_CORRECTED = 4
"""Shorter words are never corrected (too many real words are one edit apart)."""
MAX_CORRECTED = 20
CORRECTIONS_KEPT = 10_000


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def key_of(word: str) -> str:
    """A word as the matcher compares it: normalized, without spaces."""
    return normalize(word).replace(" ", "")


@cache
def _tokenizer(custom: frozenset[str]) -> Any:
    with warnings.catch_warnings():  # jieba 0.42 has old-style escapes and pkg_resources
        warnings.simplefilter("ignore")
        import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with _lock:
        tokenizer.initialize()
        for word in sorted(custom):
            if _CJK_RUN.search(word) and len(word) > 1:
                tokenizer.add_word(word)
    return tokenizer


@cache
def base_vocabulary() -> frozenset[str]:
    """The CJK words jieba should keep whole: the lexicon's and the default themes'."""
    from flows.analysis.themes import DEFAULT_THEMES

    words: set[str] = set()
    words.update(lexicon.POSITIVE_ZH, lexicon.NEGATIVE_ZH, lexicon.NEUTRAL_ZH, lexicon.PHRASES)
    words.update(lexicon.MORE_POSITIVE_ZH, lexicon.MORE_NEGATIVE_ZH)
    words.update(lexicon.LONG_TAIL_POSITIVE_ZH, lexicon.LONG_TAIL_NEGATIVE_ZH)
    words.update(lexicon.NEGATORS, lexicon.INTENSIFIERS, lexicon.DOWNTONERS)
    for theme in DEFAULT_THEMES:
        words.update(word.lstrip("~") for word in theme.words)
    # 没收到 stays "not received", never 没收 (confiscate) + 到
    words.update(f"{no}{event}" for no in ("没", "未", "不") for event in lexicon.EVENTS)
    return frozenset(key_of(word) for word in words if _CJK_RUN.search(word))


def _segment(run: str) -> list[str]:
    return list(_tokenizer(base_vocabulary()).lcut(run, HMM=False))


def _split_compound(token: str, known: frozenset[str]) -> list[str]:
    """不满意 → 不 满意, 好慢 → 好 慢, 慢了 → 慢 了, when the whole is not itself known."""
    if token in known or len(token) < 2:
        return [token]
    for prefix in sorted(_PREFIXES, key=len, reverse=True):
        rest = token[len(prefix) :]
        if token.startswith(prefix) and rest:
            if rest in known:
                return [prefix, rest]
            split = _split_compound(rest, known)
            if len(split) > 1 or split[0] in known:
                return [prefix, *split]
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and token[: -len(suffix)] in known:
            return [token[: -len(suffix)], suffix]
    for size in range(len(token) - 1, 1, -1):  # 价格便宜 → 价格 便宜, 一切顺利 → 一切 顺利
        if token[:size] in known:
            return [token[:size], *_split_compound(token[size:], known)]
        if token[-size:] in known:
            return [*_split_compound(token[:-size], known), token[-size:]]
    return [token]


_PREFIXES = frozenset(
    word
    for word in (*lexicon.NEGATORS, *lexicon.INTENSIFIERS, *lexicon.DOWNTONERS, "也", "都", "还")
    if _CJK_RUN.search(word)
)


def _english(word: str, vocabulary: Vocabulary) -> list[str]:
    word = word.replace("'", "").strip("-/")
    if word in lexicon.SLANG_EN:
        word = lexicon.SLANG_EN[word]
        return [word] if word else []
    if not word.isalpha() or len(word) < 3:
        return [word]
    for candidate in (word, _ELONGATED.sub(r"\1\1", word), _ELONGATED.sub(r"\1", word)):
        # "sooo" → "soo" → "so", "gooood" → "good"
        if candidate in vocabulary.keys or candidate in _COMMON_EN:
            return [candidate]
    if len(word) < 4 or is_english_word(word):
        return [word]
    if len(word) > MAX_CORRECTED:
        return [word]
    return [vocabulary.correction(word) or word]


_ELONGATED = re.compile(r"(\w)\1{2,}")
KNOWN_WORD_FREQUENCY = 100
"""A word this frequent in pyspellchecker's English list is a real word, never "corrected"
(heard is not hard, crushed is not crashed)."""


def is_english_word(word: str) -> bool:
    """True when `word` is a real English word (frequent enough in pyspellchecker's list)."""
    return bool(_english_frequencies().get(word, 0) >= KNOWN_WORD_FREQUENCY)


@cache
def _english_frequencies() -> dict[str, int]:
    from spellchecker import SpellChecker

    return dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)


def _closest(word: str, candidates: set[str]) -> str | None:
    """The known word within one edit (two for long words) of a misspelt one, if unique."""
    limit = 1 if len(word) < 8 else 2
    best: list[str] = []
    best_distance = limit + 1
    for candidate in candidates:
        if abs(len(candidate) - len(word)) > limit or len(candidate) < MIN_CORRECTED:
            continue
        distance = _edit_distance(word, candidate, limit)
        if distance < best_distance:
            best, best_distance = [candidate], distance
        elif distance == best_distance:
            best.append(candidate)
    return best[0] if len(best) == 1 else None


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (adjacent swaps count one), stopping early past `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def tokens_of(text: str, vocabulary: Vocabulary) -> list[str]:
    """The tokens of `text`, clauses ended by SEPARATOR."""
    tokens: list[str] = []
    for match in _PIECES.finditer(normalize(text)):
        if match["cjk"]:
            for token in _segment(match["cjk"]):
                tokens.extend(_split_compound(token, vocabulary.keys))
        elif match["latin"]:
            tokens.extend(_english(match["latin"], vocabulary))
        elif match["emoji"] or match["face"]:
            tokens.append(match["emoji"] or match["face"])
        elif tokens and tokens[-1] != SEPARATOR:
            tokens.append(SEPARATOR)
    return tokens


_COMMON_EN = frozenset(
    lexicon.split_words(
        "the a an and or of to in on at for from with by about as is are was were be been being"
        " it its this that these those there here i me my we our you your he she they them their"
        " his her have has had do does did done get got go went gone come came make made take"
        " took will would can could should may might must shall just also only even still again"
        " very much many more most some any all every each other another same such than then what"
        " which who whom whose when where why how one two three four five six seven eight nine"
        " ten first last next day days week weeks month months year years hour hours minute"
        " minutes time times call calls called calling phone email message order ordered buy"
        " bought find found from form fine five give gave back down over under after before while"
        " until because since though although into onto out off up lot lots thing things"
        " something anything everything nothing people person guy guys lady store shop new old"
        " open close closed said say says tell told ask asked know knew think thought want wanted"
        " need needed like look looked feel felt keep kept leave left let put use used using try"
        " tried help work worked working show showed seem seemed turn turned start started end"
        " ended wait money food meal item items product products service support staff agent team"
        " app site page line hold reply better worse best worst well good great nice fast slow"
        " late early kind sure yes yeah nope maybe really actually pretty quite rather enough"
        " about around home house door rain left right wrong same box boxes bag bags card cards"
        " fill filled bill hard care sale sales cheap deal real mind rate tell well spent"
    )
)
"""English words never corrected into a lexicon word (form ≠ from, bag ≠ bad)."""
