"""Service hours and deadlines that count working time only, in the service's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cxbot import handoff_texts
from cxbot.service_hours import ServiceHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = ServiceHours.parse("Mon-Fri 09:00-18:00", "Asia/Shanghai")


def shanghai(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A time on the service's clock in November 2026 (the 27th is a Friday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def test_a_case_opened_on_friday_evening_is_due_on_monday_morning() -> None:
    assert shanghai(27, 17, 30).weekday() == 4  # a Friday
    due = OFFICE.deadline(shanghai(27, 17, 30), timedelta(hours=1))
    assert due == shanghai(30, 9, 30)
    assert due.tzinfo == UTC  # stored as an instant


def test_a_case_opened_in_the_night_starts_counting_at_the_opening() -> None:
    assert OFFICE.deadline(shanghai(25, 23, 0), timedelta(minutes=15)) == shanghai(26, 9, 15)
    assert OFFICE.deadline(shanghai(28, 12, 0), timedelta(hours=4)) == shanghai(30, 13, 0)


def test_a_long_sla_spans_several_working_days() -> None:
    # 24 working hours from Monday 09:00: Mon 9 h, Tue 9 h, Wed 6 h -> Wednesday 15:00
    assert OFFICE.deadline(shanghai(23, 9, 0), timedelta(hours=24)) == shanghai(25, 15, 0)


def test_open_and_closed() -> None:
    assert OFFICE.is_open(shanghai(27, 9, 0))
    assert OFFICE.is_open(shanghai(27, 17, 59))
    assert not OFFICE.is_open(shanghai(27, 18, 0))
    assert not OFFICE.is_open(shanghai(28, 12, 0))  # Saturday
    assert OFFICE.next_opening(shanghai(28, 12, 0)) == shanghai(30, 9, 0)
    assert OFFICE.next_opening(shanghai(27, 10, 0)) == shanghai(27, 10, 0)


def test_the_zone_decides_the_day_not_utc() -> None:
    # Monday 07:30 in Shanghai is still Sunday 23:30 UTC: open at 09:00 local time
    monday_early = shanghai(30, 7, 30).astimezone(UTC)
    assert monday_early.weekday() == 6
    assert OFFICE.next_opening(monday_early) == shanghai(30, 9, 0)


def test_closed_dates_are_skipped() -> None:
    hours = ServiceHours.parse("Mon-Fri 09:00-18:00", "Asia/Shanghai", [date(2026, 11, 30)])
    assert hours.deadline(shanghai(27, 17, 30), timedelta(hours=1)) == shanghai(1, 9, 30, 12)
    around = ServiceHours.parse("24/7", "Asia/Shanghai", [date(2026, 11, 28)])
    assert around.deadline(shanghai(27, 23, 30), timedelta(hours=1)) == shanghai(29, 0, 30)


def test_several_windows_and_a_day_to_midnight() -> None:
    hours = ServiceHours.parse("Mon-Fri 09:00-12:00; Mon-Fri 13:00-18:00; Sat 10:00-24:00")
    assert hours.deadline(datetime(2026, 11, 27, 11, 30, tzinfo=UTC), timedelta(hours=1)) == (
        datetime(2026, 11, 27, 13, 30, tzinfo=UTC)
    )
    assert hours.deadline(datetime(2026, 11, 28, 23, 0, tzinfo=UTC), timedelta(hours=2)) == (
        datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    )


def test_working_hours_across_a_daylight_saving_change() -> None:
    # Berlin leaves summer time on Sunday 25 October 2026: the 09:00 opening on Monday
    # is 08:00 UTC, not 07:00
    berlin = ServiceHours.parse("Mon-Fri 09:00-17:00", "Europe/Berlin")
    friday = datetime(2026, 10, 23, 16, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert berlin.deadline(friday, timedelta(hours=1)) == datetime(
        2026, 10, 26, 8, 30, tzinfo=UTC
    )


def test_around_the_clock_is_plain_addition() -> None:
    always = ServiceHours.parse("24/7")
    at = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert always.always and always.is_open(at)
    assert always.deadline(at, timedelta(minutes=15)) == at + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("spec", "zone", "says"),
    [
        ("Mon-Fri 9-18", "UTC", "cannot read service hours 'mon-fri 9-18'"),
        ("Mon-Fry 09:00-18:00", "UTC", "unknown day 'fry'"),
        ("Fri 22:00-02:00", "UTC", "a window past midnight is two windows"),
        ("Mon 09:00-25:00", "UTC", "not a time of day"),
        ("Mon 09:00-18:00; Mon 17:00-20:00", "UTC", "overlap on Mon"),
        ("Mon-Fri 09:00-18:00", "Asia/Beijing", "unknown time zone 'Asia/Beijing'"),
    ],
)
def test_unreadable_hours_say_what_is_wrong(spec: str, zone: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        ServiceHours.parse(spec, zone)


def test_the_hours_in_words() -> None:
    hours = ServiceHours.parse("Mon-Fri 09:00-18:00; Sat 10:00-16:00", "Asia/Shanghai")
    assert handoff_texts.describe(hours, "zh") == "周一至周五 09:00–18:00，周六 10:00–16:00"
    assert handoff_texts.describe(hours, "en") == "Mon–Fri 09:00–18:00; Sat 10:00–16:00"
    assert handoff_texts.moment(hours, shanghai(30, 9, 30), "zh") == "周一 11月30日 09:30"
    assert handoff_texts.moment(hours, shanghai(30, 9, 30), "en") == "Monday 30 Nov 09:30"
    assert handoff_texts.duration(timedelta(minutes=15), "zh") == "15 分钟"
    assert handoff_texts.duration(timedelta(hours=1), "en") == "1 hour"
    assert handoff_texts.duration(timedelta(minutes=90), "en") == "1 hour 30 minutes"


def test_the_wait_message_in_and_outside_service_hours() -> None:
    def wait(at: datetime, language: str) -> str:
        due = OFFICE.deadline(at, timedelta(hours=1))
        return handoff_texts.wait(OFFICE, language, now=at, due=due).text

    assert wait(shanghai(27, 10, 0), "zh") == "客服同事正在值班，预计 1 小时内在这里回复您。"
    assert wait(shanghai(27, 10, 0), "en") == (
        "Our team is in now: expect a reply here within 1 hour."
    )
    # in hours, but the hour runs past closing time: a time, not "within 1 hour"
    assert wait(shanghai(27, 17, 30), "en") == (
        "A colleague will reply here as soon as possible, by Monday 30 Nov 09:30 at the latest."
    )
    assert wait(shanghai(28, 12, 0), "zh") == (
        "现在是非服务时间（服务时间：周一至周五 09:00–18:00，Asia/Shanghai）。客服同事会在 "
        "周一 11月30日 09:00 上班后在这里回复您，最晚 周一 11月30日 10:00。您可以先在这里留言。"
    )
    assert wait(shanghai(28, 12, 0), "en").startswith(
        "We're closed right now (our hours: Mon–Fri 09:00–18:00, Asia/Shanghai time). "
        "A colleague will reply here after we open on Monday 30 Nov 09:00, "
        "by Monday 30 Nov 10:00 at the latest."
    )
    assert wait(shanghai(28, 12, 0), "ja") == wait(shanghai(28, 12, 0), "en")
