"""When the support team works, and response deadlines that only count working time.

`ServiceHours.parse("Mon-Fri 09:00-18:00", "Asia/Shanghai")`: weekly windows in a time zone,
with closed dates (holidays). A deadline is the opening time plus an SLA counted inside
the windows only (`deadline`), so a case opened on Friday 17:30 with one hour to answer is
due on Monday 09:30. All arithmetic is on UTC instants: Python subtracts two datetimes of
one zone by their wall clocks, which is wrong across a daylight-saving change.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = ("", "24/7", "always")
"""Ways to write "around the clock"."""
_WINDOW = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<opens>\d{1,2}:\d{2})\s*-\s*(?P<closes>\d{1,2}:\d{2})$"
)
_SEARCH_DAYS = 400
"""How far ahead a deadline is looked for (a year of holidays still leaves working days)."""


@dataclass(frozen=True)
class Window:
    """One weekday's working time, local: `opens` to `closes` (`closes` may be 24:00)."""

    weekday: int
    """0 is Monday."""
    opens: timedelta
    closes: timedelta
    """Since local midnight, so 24:00 is one day."""


@dataclass(frozen=True)
class ServiceHours:
    """Weekly working windows in a time zone, minus closed dates; none means always open."""

    windows: tuple[Window, ...]
    zone: ZoneInfo
    closed_dates: frozenset[date] = frozenset()
    text: str = "24/7"
    """The windows as configured, for the customer's wait message."""

    @classmethod
    def parse(cls, spec: str, zone: str = "UTC", closed_dates: Iterable[date] = ()) -> ServiceHours:
        """Windows like `Mon-Fri 09:00-18:00; Sat 10:00-16:00` (empty or `24/7`: always).

        Raises ValueError naming what is wrong.
        """
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone '{zone}'; write e.g. Asia/Shanghai or UTC"
            ) from exc
        cleaned = " ".join(spec.split())
        if cleaned.lower() in ALWAYS:
            return cls((), tz, frozenset(closed_dates))
        windows: list[Window] = []
        for part in cleaned.split(";"):
            windows.extend(_windows(part.strip().lower()))
        windows.sort(key=lambda w: (w.weekday, w.opens))
        for before, after in itertools.pairwise(windows):
            if before.weekday == after.weekday and after.opens < before.closes:
                day = DAYS[before.weekday].title()
                raise ValueError(f"service hours overlap on {day}: {spec}")
        return cls(tuple(windows), tz, frozenset(closed_dates), cleaned)

    @property
    def always(self) -> bool:
        """True when the team works around the clock (no windows, no closed dates)."""
        return not self.windows and not self.closed_dates

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls in working time."""
        return any(start <= at < end for start, end in self._spans(at, days=1, back=1))

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when open, else when the next window starts (UTC)."""
        for start, end in self._spans(at, days=_SEARCH_DAYS, back=1):
            if end > at:
                return max(start, at).astimezone(UTC)
        raise ValueError("no working time in the coming year: check the service hours")

    def deadline(self, start: datetime, working: timedelta) -> datetime:
        """`start` plus `working` time counted only inside the windows (UTC)."""
        left = working
        for span_start, span_end in self._spans(start, days=_SEARCH_DAYS, back=1):
            if span_end <= start:
                continue
            begin = max(span_start, start)
            if begin + left <= span_end:
                return (begin + left).astimezone(UTC)
            left -= span_end - begin
        raise ValueError("no working time in the coming year: check the service hours")

    def local(self, at: datetime) -> datetime:
        """`at` on the service's wall clock."""
        return at.astimezone(self.zone)

    def _spans(self, at: datetime, *, days: int, back: int) -> Iterable[tuple[datetime, datetime]]:
        """Working spans as UTC instants, in order, from the local day before `at` on."""
        if self.always:
            yield datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
            return
        first = self.local(at).date() - timedelta(days=back)
        everyday = not self.windows
        for offset in range(days + back + 1):
            day = first + timedelta(days=offset)
            if day in self.closed_dates:
                continue
            if everyday:  # around the clock except the closed dates
                yield (
                    _instant(day, timedelta(0), self.zone),
                    _instant(day, timedelta(days=1), self.zone),
                )
                continue
            for window in self.windows:
                if window.weekday == day.weekday():
                    yield (
                        _instant(day, window.opens, self.zone),
                        _instant(day, window.closes, self.zone),
                    )


def _instant(day: date, since_midnight: timedelta, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (a time skipped by DST moves forward)."""
    if since_midnight >= timedelta(days=1):
        day, since_midnight = day + timedelta(days=1), since_midnight - timedelta(days=1)
    hours, rest = divmod(int(since_midnight.total_seconds()), 3600)
    local = datetime.combine(day, time(hours, rest // 60), tzinfo=zone)
    return local.astimezone(UTC)


def _windows(part: str) -> list[Window]:
    match = _WINDOW.match(part)
    if match is None:
        raise ValueError(
            f"cannot read service hours '{part}'; write e.g. 'Mon-Fri 09:00-18:00; "
            "Sat 10:00-16:00' (days Mon..Sun, 24-hour times), or 24/7"
        )
    first, last = match["first"], match["last"] or match["first"]
    for name in (first, last):
        if name not in DAYS:
            raise ValueError(f"unknown day '{name}' in '{part}'; use Mon Tue Wed Thu Fri Sat Sun")
    opens, closes = _clock(match["opens"], part), _clock(match["closes"], part)
    if closes <= opens:
        raise ValueError(
            f"'{part}' closes before it opens; a window past midnight is two windows, "
            "e.g. 'Fri 22:00-24:00; Sat 00:00-02:00'"
        )
    start, end = DAYS.index(first), DAYS.index(last)
    days = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
    return [Window(day, opens, closes) for day in days]


def _clock(text: str, part: str) -> timedelta:
    hours, minutes = (int(x) for x in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"'{text}' in '{part}' is not a time of day (00:00 to 24:00)")
    return timedelta(hours=hours, minutes=minutes)
