"""Margins of error for the dashboard's figures: pure functions, no I/O.

NPS is a difference of two proportions of one trinomial sample (promoters 9–10, passives 7–8,
detractors 0–6), so its variance is `(p + d - (p - d)²) / n` on the 0–1 scale.

Two 95% intervals:

- **Wald**: centred on the observed NPS, `±1.96·sqrt(var / n)`. Zero width when every
  answer is in one group, and too narrow with few answers.
- **Adjusted-Wald** (Rocks 2016, *The American Statistician* 70(4); evaluated by Sauro &
  Lewis, MeasuringU 2021): add 3 to n, ¾ to promoters and ¾ to detractors (so 1½ to
  passives), then the same formula on the adjusted proportions, centred on the adjusted NPS.
  It had the best coverage of the methods compared, in particular for small samples and
  extreme scores — the dashboard draws this one.

CES and CSAT means get the usual `1.96·s/sqrt(n)` (sample variance from the sum of squares
that SQL returns); shares (agreeing, top-2-box) the adjusted-Wald (Agresti–Coull) interval.
"""

from __future__ import annotations

import math
from typing import NamedTuple

Z95 = 1.959963984540054
"""The two-sided 95% normal quantile."""
ADJUST_N = 3.0
ADJUST_EACH = 0.75
"""Rocks' adjusted-Wald: pseudo-observations added to n, and to promoters and detractors."""


class Interval(NamedTuple):
    """A 95% interval on the figure's own scale (NPS points, a mean, a percentage)."""

    low: float
    high: float
    margin: float
    """Half the width: the ± shown beside the figure."""


def nps(promoters: int, detractors: int, n: int) -> float | None:
    """The Net Promoter Score in points (−100…100), None without answers."""
    if n <= 0:
        return None
    return 100.0 * (promoters - detractors) / n


def _trinomial(promoters: float, detractors: float, n: float) -> tuple[float, float]:
    p, d = promoters / n, detractors / n
    centre = p - d
    variance = max(0.0, p + d - centre * centre)
    return centre, Z95 * math.sqrt(variance / n)


def _clip(centre: float, margin: float, low: float, high: float) -> Interval:
    return Interval(low=max(low, centre - margin), high=min(high, centre + margin), margin=margin)


def nps_wald(promoters: int, detractors: int, n: int) -> Interval | None:
    """The plain Wald interval of the NPS, in points; None without answers."""
    if n <= 0:
        return None
    centre, margin = _trinomial(promoters, detractors, n)
    return _clip(100 * centre, 100 * margin, -100.0, 100.0)


def nps_adjusted_wald(promoters: int, detractors: int, n: int) -> Interval | None:
    """Rocks' adjusted-Wald interval of the NPS, in points; None without answers."""
    if n <= 0:
        return None
    centre, margin = _trinomial(promoters + ADJUST_EACH, detractors + ADJUST_EACH, n + ADJUST_N)
    return _clip(100 * centre, 100 * margin, -100.0, 100.0)


def mean_interval(total: float, squares: float, n: int) -> Interval | None:
    """The interval of a mean from n, Σx and Σx² (sample standard deviation); None below 2."""
    if n < 2:
        return None
    mean = total / n
    variance = max(0.0, (squares - n * mean * mean) / (n - 1))
    margin = Z95 * math.sqrt(variance / n)
    return Interval(low=mean - margin, high=mean + margin, margin=margin)


def share_interval(hits: int, n: int) -> Interval | None:
    """The adjusted-Wald (Agresti–Coull) interval of a share, in percent; None without answers."""
    if n <= 0:
        return None
    z2 = Z95 * Z95
    adjusted_n = n + z2
    p = (hits + z2 / 2) / adjusted_n
    margin = Z95 * math.sqrt(p * (1 - p) / adjusted_n)
    return _clip(100 * p, 100 * margin, 0.0, 100.0)


def rate(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, None when `whole` is 0."""
    return None if whole <= 0 else 100.0 * part / whole
