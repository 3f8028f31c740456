"""The dashboard's figures from SQL tallies: pure functions, no I/O.

`storage.dashboard` sums in SQL; this module turns those sums into what a person reads
(NPS with its margins, CES and CSAT per scale, rates), rolls days up into ISO weeks and
rolls the slice groups up per dimension. Every number here is arithmetic on SQL aggregates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, Literal

from admin import margins
from storage.dashboard import (
    METRICS,
    SLICE_ORDER,
    ConversationCounts,
    Dimension,
    Scale,
    Tally,
    TallyRow,
)

Interval = Literal["day", "week"]
SLICES: tuple[Dimension, ...] = SLICE_ORDER
"""The dimensions the dashboard compares side by side (in this order in a slice row)."""
PLACES = 4
"""Decimals in the JSON figures."""


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, PLACES)


def _interval(interval: margins.Interval | None) -> dict[str, float] | None:
    if interval is None:
        return None
    return {
        "low": round(interval.low, PLACES),
        "high": round(interval.high, PLACES),
        "margin": round(interval.margin, PLACES),
    }


def agree_range(scale: Scale) -> tuple[int, int]:
    """The scores that count as agreeing / satisfied: 5–7 on a 7-point scale, the top two
    points (4–5) on a 5-point one."""
    _, low, high = scale
    return (high - 2, high) if high - low >= 6 else (high - 1, high)


def nps_figure(tally: Tally) -> dict[str, Any]:
    """NPS: counts, score, and both 95% intervals (the adjusted-Wald one is drawn)."""
    n, promoters, detractors = tally.n, tally.promoters, tally.detractors
    return {
        "n": n,
        "promoters": promoters,
        "passives": n - promoters - detractors,
        "detractors": detractors,
        "score": _round(margins.nps(promoters, detractors, n)),
        "margin": {
            "adjusted_wald": _interval(margins.nps_adjusted_wald(promoters, detractors, n)),
            "wald": _interval(margins.nps_wald(promoters, detractors, n)),
        },
    }


def scale_figure(scale: Scale, tally: Tally) -> dict[str, Any]:
    """CES or CSAT on one scale: mean with its interval, and the agreeing share with its."""
    low, high = agree_range(scale)
    hits = tally.top3 if high - low == 2 else tally.top2
    mean = tally.total / tally.n if tally.n else None
    return {
        "scale": [scale[1], scale[2]],
        "n": tally.n,
        "mean": _round(mean),
        "mean_margin": _interval(margins.mean_interval(tally.total, tally.squares, tally.n)),
        "agree_range": [low, high],
        "agree": hits,
        "agree_share": _round(margins.rate(hits, tally.n)),
        "agree_margin": _interval(margins.share_interval(hits, tally.n)),
    }


def metric_block(by_scale: Mapping[Scale, Tally]) -> dict[str, Any]:
    """{"nps": …, "ces": [per scale], "csat": [per scale]} for one group of answers."""
    nps_total = sum((t for s, t in by_scale.items() if s[0] == "nps"), Tally())
    return {
        "nps": nps_figure(nps_total),
        **{
            metric: [
                scale_figure(scale, by_scale[scale])
                for scale in sorted(s for s in by_scale if s[0] == metric)
            ]
            for metric in ("ces", "csat")
        },
    }


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def bucket_of(day: date, interval: Interval) -> date:
    """The first day of the bucket holding `day`."""
    return week_start(day) if interval == "week" else day


def buckets(first: date, last: date, interval: Interval) -> list[date]:
    """Every bucket from the one holding `first` to the one holding `last`."""
    step = timedelta(days=7 if interval == "week" else 1)
    current, end = bucket_of(first, interval), bucket_of(last, interval)
    days: list[date] = []
    while current <= end:
        days.append(current)
        current += step
    return days


def _add(into: dict[Scale, Tally], row: TallyRow) -> None:
    into[row.scale] = into.get(row.scale, Tally()) + row.tally


def trend(day_rows: Iterable[TallyRow], interval: Interval) -> list[dict[str, Any]]:
    """Per bucket (every bucket between the first and the last answer, empty ones too):
    its start date and its metric block."""
    per_bucket: dict[date, dict[Scale, Tally]] = defaultdict(dict)
    for row in day_rows:
        _add(per_bucket[bucket_of(date.fromisoformat(row.group[0]), interval)], row)
    if not per_bucket:
        return []
    return [
        {"start": start.isoformat(), **metric_block(per_bucket.get(start, {}))}
        for start in buckets(min(per_bucket), max(per_bucket), interval)
    ]


def total(rows: Iterable[TallyRow]) -> dict[Scale, Tally]:
    """All rows added up per scale."""
    summed: dict[Scale, Tally] = {}
    for row in rows:
        _add(summed, row)
    return summed


def slices(cube: Iterable[TallyRow]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by every `SLICES` dimension at once, rolled up per dimension: for each,
    one metric block per value, largest n first."""
    rows = list(cube)
    result: dict[str, list[dict[str, Any]]] = {}
    for position, dimension in enumerate(SLICES):
        per_value: dict[str, dict[Scale, Tally]] = defaultdict(dict)
        for row in rows:
            _add(per_value[row.group[position]], row)
        blocks = [{"value": value, **metric_block(tallies)} for value, tallies in per_value.items()]
        blocks.sort(key=lambda b: (-_answers(b), b["value"]))
        result[dimension] = blocks
    return result


def _answers(block: Mapping[str, Any]) -> int:
    counts = [block["nps"]["n"], *(f["n"] for metric in ("ces", "csat") for f in block[metric])]
    return sum(int(count) for count in counts)


def distribution(counts: Iterable[tuple[Scale, int, int]]) -> list[dict[str, Any]]:
    """Per metric and scale, how many answers gave each score (every score listed)."""
    per_scale: dict[Scale, dict[int, int]] = defaultdict(dict)
    for scale, score, count in counts:
        per_scale[scale][score] = count
    return [
        {
            "metric": scale[0],
            "scale": [scale[1], scale[2]],
            "scores": list(range(scale[1], scale[2] + 1)),
            "counts": [per_scale[scale].get(s, 0) for s in range(scale[1], scale[2] + 1)],
        }
        for scale in sorted(per_scale, key=_metric_order)
    ]


def _metric_order(scale: Scale) -> tuple[int, int, int]:
    """NPS, then CES, then CSAT (each scale by its range)."""
    order = METRICS.index(scale[0]) if scale[0] in METRICS else len(METRICS)
    return order, scale[1], scale[2]


def conversations(counts: ConversationCounts) -> dict[str, Any]:
    """Counts and rates (percent of interviews started) of what became of the interviews."""
    started = counts.started
    return {
        **asdict(counts),
        "response_rate": _round(margins.rate(counts.responded, started)),
        "completion_rate": _round(margins.rate(counts.completed, started)),
        "abandonment_rate": _round(margins.rate(counts.abandoned, started)),
    }
