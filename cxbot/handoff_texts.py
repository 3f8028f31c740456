"""What a handed-off customer reads about the wait, in zh and en (English for any other
language): the expected wait in service hours, the next opening outside them, and the
notice when nobody has picked the case up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cxbot.service_hours import DAYS, ServiceHours
from flows import language as languages
from flows import texts
from flows.model import Flow
from flows.state import Outbound

TEXTS: dict[str, dict[str, str]] = {
    "wait_open": {
        "zh": "客服同事正在值班，预计 {wait}内在这里回复您。",
        "en": "Our team is in now: expect a reply here within {wait}.",
    },
    "wait_later": {
        "zh": "客服同事会尽快在这里回复您，最晚 {due}。",
        "en": "A colleague will reply here as soon as possible, by {due} at the latest.",
    },
    "wait_closed": {
        "zh": "现在是非服务时间（服务时间：{hours}，{zone}）。客服同事会在 {opens} 上班后"
        "在这里回复您，最晚 {due}。您可以先在这里留言。",
        "en": "We're closed right now (our hours: {hours}, {zone} time). A colleague will "
        "reply here after we open on {opens}, by {due} at the latest. You can leave "
        "a message here meanwhile.",
    },
    "unattended": {
        "zh": "很抱歉，我们的同事还没能回复您。您的问题仍在处理队列中，同事一有空就会在这里回复。"
        "如果愿意，您也可以回复“{keyword}”重新开始。",
        "en": "We're sorry: nobody from our team has been able to reply yet. Your request "
        "is still in the queue and a colleague will answer here as soon as they can. "
        "You can also reply “{keyword}” to start again.",
    },
}
WEEKDAYS = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UNITS = {"zh": ("分钟", "小时", "天"), "en": ("minute", "hour", "day")}


def _language(language: str) -> str:
    return language if language in ("zh", "en") else "en"


def text(key: str, language: str, **values: object) -> str:
    """One of these texts, filled."""
    return texts.fill(TEXTS[key][_language(language)], values)


def wait(hours: ServiceHours, language: str, *, now: datetime, due: datetime) -> Outbound:
    """The honest wait: within the SLA now, by a time later today or after, or from the
    next opening when the team is off."""
    language = _language(language)
    if hours.is_open(now):
        if _same_span(hours, now, due):
            return Outbound(text("wait_open", language, wait=duration(due - now, language)))
        return Outbound(text("wait_later", language, due=moment(hours, due, language)))
    return Outbound(
        text(
            "wait_closed",
            language,
            hours=describe(hours, language),
            zone=hours.zone.key,
            opens=moment(hours, hours.next_opening(now), language),
            due=moment(hours, due, language),
        )
    )


def unattended(flows: Sequence[Flow], language: str, channel: str) -> Outbound:
    """The notice that nobody has picked the case up yet, naming how to start again: `/start`
    on Telegram, else the first flow's first start keyword in the customer's language."""
    language = _language(language)
    keywords = [k for flow in flows for k in flow.start.keywords]
    preferred = [k for k in keywords if (languages.detect(k) == "zh") == (language == "zh")]
    keyword = "/start" if channel == "telegram" else (preferred or keywords or ["/start"])[0]
    return Outbound(text("unattended", language, keyword=keyword))


def _same_span(hours: ServiceHours, now: datetime, due: datetime) -> bool:
    """Whether the team works all the way from `now` to `due` (no closing in between)."""
    return hours.deadline(now, due - now) == due


def duration(span: timedelta, language: str) -> str:
    """A wait in words: "15 分钟", "1 hour 30 minutes" (rounded up to the minute)."""
    minutes = max(1, -(-int(span.total_seconds()) // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, 2), (hours, 1), (minutes, 0)]
    unit = UNITS[language]
    if language == "zh":
        return " ".join(f"{n} {unit[i]}" for n, i in parts if n)
    return " ".join(f"{n} {unit[i]}{'s' if n != 1 else ''}" for n, i in parts if n)


def moment(hours: ServiceHours, at: datetime, language: str) -> str:
    """A point in time on the service's clock: "周一 11月30日 09:30", "Monday 30 Nov 09:30"."""
    local = hours.local(at)
    day = WEEKDAYS[language][local.weekday()]
    if language == "zh":
        return f"{day} {local.month}月{local.day}日 {local:%H:%M}"
    return f"{day} {local.day} {MONTHS[local.month - 1]} {local:%H:%M}"


def describe(hours: ServiceHours, language: str) -> str:
    """The weekly windows: "周一至周五 09:00–18:00", "Mon–Fri 09:00–18:00"."""
    if not hours.windows:
        return "全天" if language == "zh" else "around the clock"
    spans: dict[tuple[int, int], list[int]] = {}
    for window in hours.windows:
        key = (int(window.opens.total_seconds()), int(window.closes.total_seconds()))
        spans.setdefault(key, []).append(window.weekday)
    parts = []
    for (opens, closes), days in spans.items():
        parts.append(f"{_days(days, language)} {_clock(opens)}–{_clock(closes)}")
    return ("，" if language == "zh" else "; ").join(parts)


def _days(days: list[int], language: str) -> str:
    names = WEEKDAYS["zh"] if language == "zh" else tuple(d.title() for d in DAYS)
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    joiner = "至" if language == "zh" else "–"
    return ("、" if language == "zh" else ", ").join(
        names[r[0]] if len(r) == 1 else f"{names[r[0]]}{joiner}{names[r[-1]]}" for r in runs
    )


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
