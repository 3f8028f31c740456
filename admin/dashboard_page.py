"""The dashboard page (`/admin`, viewer role): headline figures, filters, slices side by side,
trends with their margins of error and the score distribution.

The figures are the API's (`admin.metrics.load_metrics`), rendered on the server; the charts'
data travels as JSON in a `<script type="application/json">` element that
`static/dashboard.js` reads and draws with the vendored ECharts (no inline script: the
Content-Security-Policy allows only the site's own files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from admin import i18n
from admin.metrics import EARLIEST, LATEST, MetricsQuery, load_metrics
from admin.rendering import language_of, render
from storage import dashboard as queries
from storage.database import Sessions, reading

TEXT_FILTERS = ("flow", "touchpoint", "journey_stage", "channel", "language")
MAX_TEXT = 64
ECHARTS = "vendor/echarts-6.1.0/echarts.min.js"
"""Under the admin static folder; the version is in the path, so caches never mix two."""
CHART_TEXTS = (
    "dashboard.nps", "dashboard.band", "dashboard.answers", "dashboard.score",
    "dashboard.promoters", "dashboard.passives", "dashboard.detractors", "dashboard.others",
    "dashboard.agreeing", "dashboard.ces", "dashboard.csat", "dashboard.scale",
)


@dataclass(frozen=True)
class DashboardPage:
    """What dashboard.html shows."""

    query: MetricsQuery
    metrics: dict[str, Any]
    options: dict[str, list[str]]
    """Every value each filter can take, for the form's menus."""
    ignored: list[str] = field(default_factory=list)
    """Filters given but not understood (shown, then left out)."""

    @property
    def empty(self) -> bool:
        """No scale answer matches the filters."""
        return not self.metrics["distribution"]


def page_query(params: QueryParams) -> tuple[MetricsQuery, list[str]]:
    """The filters from the page's query string; what cannot be understood is left out and
    named (a person typed it: show the page, not an error)."""
    ignored: list[str] = []

    def day(name: str) -> date | None:
        given = (params.get(name) or "").strip()
        if not given:
            return None
        try:
            value = date.fromisoformat(given)
        except ValueError:
            value = None
        if value is None or not EARLIEST <= value <= LATEST:
            ignored.append(name)
            return None
        return value

    start, end = day("from"), day("to")
    texts: dict[str, str | None] = {}
    for name in TEXT_FILTERS:
        given = (params.get(name) or "").strip()
        if len(given) > MAX_TEXT:
            ignored.append(name)
            given = ""
        texts[name] = given or None
    if start is not None and end is not None and start > end:
        ignored.append("to")
        end = None
    interval = params.get("interval") or "week"
    if interval not in ("week", "day"):
        ignored.append("interval")
        interval = "week"
    query = MetricsQuery(
        start=start, end=end, interval="day" if interval == "day" else "week", **texts
    )
    return query, ignored


def chart_data(metrics: dict[str, Any], texts: dict[str, str]) -> dict[str, Any]:
    """What dashboard.js draws: the trend buckets, the distribution, the labels."""
    buckets = metrics["trend"]["buckets"]

    def band(figure: dict[str, Any] | None, value: str, margin: str) -> list[Any]:
        if figure is None or figure[value] is None or figure[margin] is None:
            return [None, None, None]
        interval = figure[margin]
        return [figure[value], interval["low"], interval["high"]]

    def scale_series(metric: str) -> list[dict[str, Any]]:
        scales = sorted({tuple(f["scale"]) for b in buckets for f in b[metric]})
        series = []
        for scale in scales:
            points = []
            for bucket in buckets:
                found = [f for f in bucket[metric] if tuple(f["scale"]) == scale]
                points.append(band(found[0] if found else None, "agree_share", "agree_margin"))
            series.append({"scale": list(scale), "points": points})
        return series

    nps = [
        band(
            {"score": b["nps"]["score"], "margin": b["nps"]["margin"]["adjusted_wald"]},
            "score",
            "margin",
        )
        for b in buckets
    ]
    return {
        "texts": texts,
        "interval": metrics["trend"]["interval"],
        "buckets": [b["start"] for b in buckets],
        "nps": nps,
        "ces": scale_series("ces"),
        "csat": scale_series("csat"),
        "distribution": metrics["distribution"],
    }


def page_router(sessions: Sessions, *, viewer: Callable[..., Any]) -> APIRouter:
    """`GET /admin`: the dashboard, for anyone `viewer` admits (the app passes
    `admin.access.page_role("viewer")`)."""
    pages = APIRouter()

    @pages.get("/admin", dependencies=[Depends(viewer)])
    async def dashboard(request: Request) -> Response:
        """The dashboard for the filters in the query string."""
        query, ignored = page_query(request.query_params)
        metrics = await load_metrics(sessions, query)
        async with reading(sessions) as session:
            options = await queries.filter_values(session=session)
        page = DashboardPage(query=query, metrics=metrics, options=options, ignored=ignored)
        t = i18n.translator(language_of(request))
        charts = chart_data(metrics, {key.split(".", 1)[1]: t(key) for key in CHART_TEXTS})
        return render(
            request,
            "dashboard.html",
            {"page": page, "charts": charts, "echarts": ECHARTS},
        )

    return pages
