"""English valences from VADER's lexicon (vaderSentiment, MIT licence, C.J. Hutto), read as
data: about 7,500 words and emoticons rated -4..+4 by people, here scaled to our ±1 and kept
when clearly polar. Our own lexicon overrides it (domain words: slow, late, cheap)."""

from __future__ import annotations

from importlib import resources

import flows.analysis.lexicon as lexicon

SCALE = 0.5
"""VADER's ±2 (a plain "good" / "bad") becomes our ±1."""
LIMIT = 1.5
MIN_VALENCE = 1.0
"""Weaker ratings ("meh" -0.3, "ok" 0.9) are left out."""
LEFT_OUT = frozenset(
    lexicon.split_words(
        "like pretty help care yes please no kind sure right free true want support service"
        " value worth credit charge charges cost pay paid order return refund fix fixed question"
        " questions hope wish well god hell damn lol haha hahaha lmao rofl yeah okay ok fine"
        " matter block party play save safe trust ready welcome agree share interest important"
        " huge big best join solve solved resolved thank thanks clear"
    )
)
"""Words VADER rates that in customer answers are mostly topics or function words."""


def valences() -> dict[str, float]:
    """Word → score for every clearly polar single word in VADER's lexicon."""
    text = (resources.files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8")
    found: dict[str, float] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].isalpha() or fields[0] in LEFT_OUT:
            continue
        valence = float(fields[1])
        if abs(valence) >= MIN_VALENCE:
            found[fields[0].lower()] = max(-LIMIT, min(LIMIT, valence * SCALE))
    return found
