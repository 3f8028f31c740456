"""Margins of error and bucketing: pure functions against hand-computed values."""

from __future__ import annotations

from datetime import date

import pytest

from admin import dashboard, margins


def test_nps_is_promoters_minus_detractors_in_points() -> None:
    assert margins.nps(5, 3, 10) == 20.0
    assert margins.nps(0, 4, 4) == -100.0
    assert margins.nps(0, 0, 0) is None


def test_wald_margin_by_hand() -> None:
    # p = .5, d = .3: var = .5 + .3 - .04 = .76; 1.96 * sqrt(.76 / 10) = .54033
    interval = margins.nps_wald(5, 3, 10)
    assert interval is not None
    assert interval.margin == pytest.approx(54.0325, abs=1e-3)
    assert interval.low == pytest.approx(-34.0325, abs=1e-3)
    assert interval.high == pytest.approx(74.0325, abs=1e-3)


def test_adjusted_wald_margin_by_hand() -> None:
    # P = 5.75, D = 3.75, n = 13: centre 2/13 = .153846; var = 9.5/13 - .153846² = .707101
    # 1.96 * sqrt(.707101 / 13) = .457106
    interval = margins.nps_adjusted_wald(5, 3, 10)
    assert interval is not None
    assert interval.margin == pytest.approx(45.7106, abs=1e-3)
    assert interval.low == pytest.approx(15.3846 - 45.7106, abs=1e-3)
    assert interval.high == pytest.approx(15.3846 + 45.7106, abs=1e-3)


def test_unanimous_answers_have_no_wald_width_but_an_adjusted_one() -> None:
    wald = margins.nps_wald(3, 0, 3)
    assert wald is not None and wald.margin == 0.0 and wald.high == 100.0
    # P = 3.75, D = .75, n = 6: centre .5; var = .75 - .25 = .5; 1.96 * sqrt(.5 / 6) = .5658
    adjusted = margins.nps_adjusted_wald(3, 0, 3)
    assert adjusted is not None
    assert adjusted.margin == pytest.approx(56.58, abs=0.01)
    assert adjusted.high == 100.0  # clipped: .5 + .5658 > 1
    assert adjusted.low == pytest.approx(50 - 56.58, abs=0.01)


def test_no_answers_no_interval() -> None:
    assert margins.nps_wald(0, 0, 0) is None
    assert margins.nps_adjusted_wald(0, 0, 0) is None
    assert margins.share_interval(0, 0) is None
    assert margins.mean_interval(5, 25, 1) is None
    assert margins.rate(1, 0) is None


def test_mean_interval_by_hand() -> None:
    # 7 6 5 4 2: Σ = 24, Σ² = 130, mean 4.8, s² = (130 - 5 * 23.04) / 4 = 3.7
    interval = margins.mean_interval(24, 130, 5)
    assert interval is not None
    assert interval.margin == pytest.approx(1.959964 * (3.7 / 5) ** 0.5, abs=1e-4)
    assert interval.low == pytest.approx(4.8 - interval.margin)


def test_share_interval_is_agresti_coull() -> None:
    # 3 of 5: n~ = 5 + 3.8415 = 8.8415, p~ = (3 + 1.9207) / 8.8415 = .55655
    # 1.96 * sqrt(.55655 * .44345 / 8.8415) = .32745
    interval = margins.share_interval(3, 5)
    assert interval is not None
    assert interval.margin == pytest.approx(32.745, abs=0.01)
    assert interval.low == pytest.approx(55.655 - 32.745, abs=0.01)


def test_agree_ranges_per_scale() -> None:
    assert dashboard.agree_range(("ces", 1, 7)) == (5, 7)
    assert dashboard.agree_range(("ces", 1, 5)) == (4, 5)
    assert dashboard.agree_range(("csat", 1, 5)) == (4, 5)


def test_weeks_start_on_monday() -> None:
    assert dashboard.week_start(date(2026, 3, 1)) == date(2026, 2, 23)  # Sunday
    assert dashboard.week_start(date(2026, 3, 2)) == date(2026, 3, 2)  # Monday
    assert dashboard.week_start(date(2027, 1, 1)) == date(2026, 12, 28)  # across a year


def test_buckets_include_empty_ones_between() -> None:
    weeks = dashboard.buckets(date(2026, 3, 1), date(2026, 3, 17), "week")
    assert weeks == [date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    days = dashboard.buckets(date(2026, 2, 27), date(2026, 3, 2), "day")
    assert [d.day for d in days] == [27, 28, 1, 2]
