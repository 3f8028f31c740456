"""The agents' nav badge: how many cases are open and overdue, for the layout's script
(`GET /admin/loop/badge`, agent role; `static/admin.js` asks every 30 seconds)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from admin.access import Principal, page_role
from storage import signals
from storage.database import Sessions, reading

PATH = "/admin/loop/badge"
Agent = Annotated[Principal, Depends(page_role("agent"))]


def router(sessions: Sessions, clock: Callable[[], datetime]) -> APIRouter:
    """`GET /admin/loop/badge` → `{"open": n, "overdue": m}`."""
    pages = APIRouter(include_in_schema=False)

    @pages.get(PATH)
    async def badge(_agent: Agent) -> JSONResponse:
        """Open and overdue cases right now."""
        async with reading(sessions) as session:
            total, overdue = await signals.open_counts(session=session, now=clock())
        return JSONResponse(
            {"open": total, "overdue": overdue}, headers={"Cache-Control": "no-store"}
        )

    return pages
