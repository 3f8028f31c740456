"""The insights page's figures, counted from a period's analyzed answers: themes by frequency
and by their effect on NPS, sentiment over time, and the digest of what detractors say."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from storage.insights import AnalyzedAnswer

QUOTE_CHARS = 140
QUOTES = 3
DIGEST_THEMES = 3
DAILY_UP_TO = 14
"""Periods this many days or longer show sentiment per week."""


def nps_of(scores: Sequence[int]) -> float | None:
    """NPS (-100..100) of some 0-10 scores; None without any."""
    if not scores:
        return None
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    return 100 * (promoters - detractors) / len(scores)


@dataclass(frozen=True)
class ThemeFigure:
    """One theme over the period."""

    key: str
    label: str
    answers: int
    """Open answers citing it."""
    share: float
    """Of all analyzed answers, the share citing it (0..1)."""
    negative: float
    """Of the answers citing it, the share with negative sentiment."""
    detractor_share: float | None
    """Of the detractors' answers, the share citing it (None without detractors)."""
    nps_citing: float | None
    """NPS of the answers citing it whose interview had an NPS score."""
    nps_not: float | None
    """NPS of the other scored answers."""

    @property
    def effect(self) -> float | None:
        """NPS citing minus NPS not citing: how far the theme pulls NPS."""
        if self.nps_citing is None or self.nps_not is None:
            return None
        return self.nps_citing - self.nps_not


def theme_figures(rows: Sequence[AnalyzedAnswer], labels: Mapping[str, str]) -> list[ThemeFigure]:
    """Every theme cited in `rows`, most cited first."""
    counts = Counter(t for row in rows for t in row.themes)
    detractors = [r for r in rows if r.nps is not None and r.nps <= 6]
    scored = [r for r in rows if r.nps is not None]
    figures = []
    for key, answers in counts.most_common():
        citing = [r for r in rows if key in r.themes]
        figures.append(
            ThemeFigure(
                key=key,
                label=labels.get(key, key),
                answers=answers,
                share=answers / len(rows),
                negative=sum(r.sentiment == "negative" for r in citing) / len(citing),
                detractor_share=(
                    sum(key in r.themes for r in detractors) / len(detractors)
                    if detractors
                    else None
                ),
                nps_citing=nps_of([r.nps for r in scored if key in r.themes and r.nps is not None]),
                nps_not=nps_of(
                    [r.nps for r in scored if key not in r.themes and r.nps is not None]
                ),
            )
        )
    return figures


@dataclass(frozen=True)
class SentimentSlice:
    """One day or week of answers by sentiment."""

    label: str
    positive: int
    neutral: int
    negative: int

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative

    def percent(self, sentiment: str) -> float:
        """The share of one sentiment, 0..100."""
        return 100 * getattr(self, sentiment) / self.total if self.total else 0.0


def sentiment_over_time(
    rows: Sequence[AnalyzedAnswer], since: date, until: date
) -> list[SentimentSlice]:
    """Per day for up to two weeks, else per ISO week (from Monday), oldest first, empty
    slices kept; `since` and `until` both included."""
    weekly = (until - since).days >= DAILY_UP_TO

    def start_of(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day

    buckets: dict[date, Counter[str]] = {}
    day = start_of(since)
    while day <= until:
        buckets[day] = Counter()
        day += timedelta(days=7 if weekly else 1)
    for row in rows:
        bucket = buckets.get(start_of(row.created_at.date()))
        if bucket is not None:
            bucket[row.sentiment] += 1
    return [
        SentimentSlice(
            ("≥ " if weekly else "") + max(day, since).isoformat(),
            c["positive"],
            c["neutral"],
            c["negative"],
        )
        for day, c in buckets.items()
    ]


@dataclass(frozen=True)
class DigestEntry:
    """A theme detractors raise, with what some of them wrote."""

    key: str
    label: str
    detractors: int
    quotes: tuple[tuple[int, str], ...]
    """(conversation id, quote), the most telling first."""


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def digest(rows: Sequence[AnalyzedAnswer], labels: Mapping[str, str]) -> list[DigestEntry]:
    """The themes detractors (NPS 0-6) cite most, each with representative quotes: negative,
    concrete (not vague), of a readable length, newest first."""
    detractors = [r for r in rows if r.nps is not None and r.nps <= 6]
    counts = Counter(t for r in detractors for t in r.themes)
    entries = []
    for key, count in counts.most_common(DIGEST_THEMES):
        citing = [r for r in detractors if key in r.themes]
        ranked = sorted(
            citing,
            key=lambda r: (
                r.sentiment != "negative",
                r.vague,
                not 8 <= len(r.text) <= 2 * QUOTE_CHARS,
            ),
        )  # stable: newest first within a rank
        quotes: list[tuple[int, str]] = []
        for r in ranked:  # the same words from two customers are quoted once
            quote = _quote(r.text)
            if len(quotes) < QUOTES and all(quote.casefold() != q.casefold() for _, q in quotes):
                quotes.append((r.conversation_id, quote))
        entries.append(DigestEntry(key, labels.get(key, key), count, tuple(quotes)))
    return entries
