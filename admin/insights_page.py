"""The insights page (`/admin/insights`, viewer role): why customers score as they do —
themes by frequency and by their effect on NPS, sentiment over time, the digest of what
detractors say (quotes for agents and admins), and for admins the model's token use per day
and the analysis queue. `/admin/insights/themes/{key}` (agent role) lists the answers behind a
theme, each linked to its conversation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from admin import insights
from admin.access import Principal, page_role
from admin.rendering import language_of, render
from flows.analysis import ThemeBook
from storage import analysis, dashboard, model_usage, themes
from storage.database import Sessions, reading
from storage.insights import FILTERS, AnalyzedAnswer, analyzed

PAGE = "/admin/insights"
DEFAULT_DAYS = 30
MAX_DAYS = 366
USAGE_DAYS = 14
Viewer = Annotated[Principal, Depends(page_role("viewer"))]
Agent = Annotated[Principal, Depends(page_role("agent"))]
ThemeKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


@dataclass(frozen=True)
class ModelInfo:
    """What the admin section says about the model (the app fills it in)."""

    name: str | None
    """None: no model, the offline analyzer answers."""
    daily_tokens: int


@dataclass(frozen=True)
class Period:
    """The filters: the days (UTC, both included), and flow, touchpoint, journey stage,
    channel and language as on the dashboard."""

    since: date
    until: date
    filters: tuple[tuple[str, str], ...] = ()
    ignored: tuple[str, ...] = ()

    def chosen(self, name: str) -> str:
        return dict(self.filters).get(name, "")

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.since, time(), tzinfo=UTC)
        return start, datetime.combine(self.until + timedelta(days=1), time(), tzinfo=UTC)

    def query(self) -> dict[str, str]:
        return {"from": self.since.isoformat(), "to": self.until.isoformat(), **dict(self.filters)}


def period_of(request: Request, today: date, options: Mapping[str, list[str]]) -> Period:
    """The period from the query string; what cannot be understood is named and left out."""
    ignored: list[str] = []

    def day(name: str, default: date) -> date:
        raw = request.query_params.get(name)
        if not raw:
            return default
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            ignored.append(name)
            return default

    until = day("to", today)
    since = day("from", until - timedelta(days=DEFAULT_DAYS - 1))
    if since > until or (until - since).days >= MAX_DAYS:
        ignored.append("from")
        since = until - timedelta(days=DEFAULT_DAYS - 1)
    filters = []
    for name in FILTERS:
        value = request.query_params.get(name) or ""
        if value and value not in options.get(name, []):
            ignored.append(name)
        elif value:
            filters.append((name, value))
    return Period(since, until, tuple(filters), tuple(ignored))


@dataclass(frozen=True)
class InsightsPage:
    """What insights.html shows."""

    period: Period
    options: Mapping[str, list[str]]
    """Every value each filter can take."""
    analyzed: int
    themes: list[insights.ThemeFigure]
    sentiment: list[insights.SentimentSlice]
    digest: list[insights.DigestEntry]
    model: ModelInfo
    usage: list[model_usage.DayUsage] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)


def router(
    sessions: Sessions,
    *,
    clock: Callable[[], datetime],
    book: ThemeBook,
    model: ModelInfo,
) -> APIRouter:
    """The insights pages; `book` is the default themes and CXBOT_THEMES_FILE's, the admins'
    words and labels from the database are read per request."""
    pages = APIRouter(include_in_schema=False)

    async def labels(language: str) -> dict[str, str]:
        async with reading(sessions) as session:
            effective = await themes.book(session=session, base=book)
        return {t.key: t.label(language) for t in effective.themes}

    async def rows_of(period: Period, theme: str | None = None) -> list[AnalyzedAnswer]:
        since, until = period.bounds
        async with reading(sessions) as session:
            return await analyzed(
                session=session, since=since, until=until, filters=dict(period.filters), theme=theme
            )

    async def options() -> dict[str, list[str]]:
        async with reading(sessions) as session:
            return await dashboard.filter_values(session=session)

    @pages.get(PAGE)
    async def insights_page(request: Request, principal: Viewer) -> Response:
        """Themes, their effect on NPS, sentiment over time, the detractors' digest."""
        choices = await options()
        period = period_of(request, clock().date(), choices)
        rows = await rows_of(period)
        names = await labels(language_of(request))
        usage: list[model_usage.DayUsage] = []
        jobs: dict[str, int] = {}
        if principal.can("admin"):
            first = (clock().date() - timedelta(days=USAGE_DAYS - 1)).isoformat()
            async with reading(sessions) as session:
                usage = await model_usage.recent(session=session, since_day=first)
                jobs = await analysis.counts(session=session)
        page = InsightsPage(
            period=period,
            options=choices,
            analyzed=len(rows),
            themes=insights.theme_figures(rows, names),
            sentiment=insights.sentiment_over_time(rows, period.since, period.until),
            digest=insights.digest(rows, names) if principal.can("agent") else [],
            model=model,
            usage=usage,
            jobs=jobs,
        )
        return render(request, "insights.html", {"page": page})

    @pages.get(PAGE + "/themes/{key}")
    async def theme_answers(request: Request, _agent: Agent, key: ThemeKey) -> Response:
        """The answers citing one theme in the period, newest first."""
        period = period_of(request, clock().date(), await options())
        rows = await rows_of(period, theme=key)
        names = await labels(language_of(request))
        context = {"period": period, "key": key, "label": names.get(key, key), "rows": rows[:500]}
        return render(request, "insight_theme.html", context, status_code=200)

    return pages
