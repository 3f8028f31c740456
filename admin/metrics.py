"""`GET /api/v1/metrics`: the dashboard's figures as JSON, and the loader the page shares.

The router is a factory: `api_router(sessions, viewer=…)` takes the guard that admits a
viewer (the app passes `admin.access.api_role("viewer")`), so this module needs no app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from admin import dashboard
from admin.loop_figures import loop_figures
from storage import dashboard as queries
from storage.database import Sessions, reading
from storage.loop_figures import loop_counts

Text = Annotated[str | None, Query(min_length=1, max_length=64)]
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


@dataclass(frozen=True)
class MetricsQuery:
    """The filters as a person gives them: whole UTC days, `to` included."""

    start: date | None = None
    end: date | None = None
    flow: str | None = None
    touchpoint: str | None = None
    journey_stage: str | None = None
    channel: str | None = None
    language: str | None = None
    interval: dashboard.Interval = "week"

    def filters(self) -> queries.Filters:
        """The storage filters (whole UTC days, both ends included)."""
        return queries.Filters(
            first_day=self.start,
            last_day=self.end,
            flow=self.flow,
            touchpoint=self.touchpoint,
            journey_stage=self.journey_stage,
            channel=self.channel,
            language=self.language,
        )

    def as_json(self) -> dict[str, Any]:
        """The filters echoed back, with the API's parameter names."""
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "flow": self.flow,
            "touchpoint": self.touchpoint,
            "journey_stage": self.journey_stage,
            "channel": self.channel,
            "language": self.language,
            "interval": self.interval,
        }


def _check_range(start: date | None, end: date | None) -> None:
    for day in (start, end):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise HTTPException(422, f"dates must lie between {EARLIEST} and {LATEST}")
    if start is not None and end is not None and start > end:
        raise HTTPException(422, "`from` is after `to`")


async def metrics_query(
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    flow: Text = None,
    touchpoint: Text = None,
    journey_stage: Text = None,
    channel: Text = None,
    language: Text = None,
    interval: Annotated[dashboard.Interval, Query()] = "week",
) -> MetricsQuery:
    """The metrics filters from query parameters (422 for a bad date, range or interval)."""
    _check_range(start, end)
    return MetricsQuery(start, end, flow, touchpoint, journey_stage, channel, language, interval)


async def load_metrics(
    sessions: Sessions, query: MetricsQuery, now: datetime | None = None
) -> dict[str, Any]:
    """Every dashboard figure for `query`, from aggregate queries in one read-only snapshot
    (never the write lock on SQLite); `now` decides which cases are overdue."""
    filters = query.filters()
    async with reading(sessions) as session:
        days = await queries.tallies(session=session, filters=filters, by=("day",))
        cube = await queries.tallies(session=session, filters=filters, by=dashboard.SLICES)
        scores = await queries.score_counts(session=session, filters=filters)
        counts = await queries.conversation_counts(session=session, filters=filters)
        loop = await loop_counts(session=session, filters=filters, now=now or datetime.now(UTC))
    return {
        "filters": query.as_json(),
        **dashboard.metric_block(dashboard.total(days)),
        "conversations": dashboard.conversations(counts),
        "distribution": dashboard.distribution(scores),
        "trend": {"interval": query.interval, "buckets": dashboard.trend(days, query.interval)},
        "slices": dashboard.slices(cube),
        "loop": loop_figures(loop),
    }


def api_router(sessions: Sessions, *, viewer: Callable[..., Any]) -> APIRouter:
    """`GET /api/v1/metrics` for anyone `viewer` admits."""
    api = APIRouter(prefix="/api/v1", tags=["admin"])

    @api.get("/metrics", dependencies=[Depends(viewer)], response_class=JSONResponse)
    async def metrics(query: Annotated[MetricsQuery, Depends(metrics_query)]) -> JSONResponse:
        """NPS (with 95% margins of error), CES, CSAT, interview counts and rates, the score
        distribution, trends per day or week and slices, for the given filters (the shape
        is in docs/api.md)."""
        # plain JSON types already: no need for FastAPI's encoder to walk ~10,000 values
        return JSONResponse(await load_metrics(sessions, query))

    return api
