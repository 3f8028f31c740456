"""The closed loop's figures as the dashboard and `/api/v1/metrics` show them (the `loop`
object): counts from SQL (`storage.loop_figures`), shares from those counts. Pure."""

from __future__ import annotations

from typing import Any

from admin.margins import rate
from storage.loop_figures import LoopCounts

STATUSES = ("open", "assigned", "waiting", "resolved", "closed")


def _share(part: int, whole: int) -> dict[str, Any]:
    """`share` in percent, as the dashboard's other rates."""
    share = rate(part, whole)
    return {"n": part, "of": whole, "share": None if share is None else round(share, 4)}


def loop_figures(counts: LoopCounts) -> dict[str, Any]:
    """The `loop` object (docs/api.md describes each field)."""
    statuses = {status: counts.statuses.get(status, 0) for status in STATUSES}
    statuses.update({k: v for k, v in counts.statuses.items() if k not in statuses})
    return {
        "opened": counts.opened,
        "statuses": statuses,
        "overdue": counts.overdue,
        "first_reply": {"n": counts.replied, "median_seconds": counts.median_reply_seconds},
        "replied_within_sla": _share(counts.replied_in_time, counts.reply_decided),
        "resolved_within_sla": _share(counts.resolved_in_time, counts.resolve_decided),
        "outcomes": dict(sorted(counts.outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
        "closing_answers": dict(counts.closing),
    }
