"""The case page's live transcript: server-sent events from polling the database.

Each stream asks the desk every `poll` seconds for the case's stamp (last message id,
unsettled deliveries, last change); when it moved, it sends the lines after the id the page
asked for. Polling the database, not an in-process queue, is what makes it work with several
app processes: a customer's message stored by one process reaches an agent whose page
streams from another. A comment line every `PING_SECONDS` keeps proxies from closing it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from admin.desk import CaseFile, DeskError, DeskService, Line

PING_SECONDS = 15.0
RETRY_MS = 3000
LARGEST_ID = 2**31 - 1


def line_json(line: Line) -> dict[str, Any]:
    """A transcript line as the page's script reads it."""
    return {
        "id": line.id,
        "direction": line.direction,
        "author": line.author,
        "text": line.text,
        "state": line.state,
        "error": line.error,
        "at": line.at.strftime("%Y-%m-%d %H:%M UTC"),
        "buttons": list(line.buttons),
    }


def case_json(found: CaseFile) -> dict[str, Any]:
    """What the page updates besides the lines."""
    card = found.card
    return {
        "status": card.status,
        "assigned_to": card.assigned_to,
        "closing_answer": card.closing_answer,
        "lines": [line_json(line) for line in found.lines],
    }


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def updates(
    request: Request, desk: DeskService, case_id: int, after: int, poll: float
) -> AsyncIterator[str]:
    """The event stream of one case page (ends when the browser goes away)."""
    yield f"retry: {RETRY_MS}\n\n"
    seen = ""
    pinged = time.monotonic()
    while not await request.is_disconnected():
        try:
            stamp = await desk.stamp(case_id)
            if stamp != seen:
                found = await desk.case(case_id, after_id=after)
                seen = stamp
                yield _event("case", case_json(found))
                pinged = time.monotonic()
        except DeskError:
            yield _event("gone", {})
            return
        if time.monotonic() - pinged >= PING_SECONDS:
            yield ": ping\n\n"
            pinged = time.monotonic()
        await asyncio.sleep(poll)


def router(desk: DeskService, *, guard: Callable[..., Any], poll: float) -> APIRouter:
    """`GET /admin/escalations/{id}/events`, behind `guard` (the agent role)."""
    stream = APIRouter(include_in_schema=False)

    @stream.get("/admin/escalations/{case_id}/events", dependencies=[Depends(guard)])
    async def events(
        request: Request,
        case_id: Annotated[int, Path(ge=1, le=LARGEST_ID)],
        after: Annotated[int, Query(ge=0, le=LARGEST_ID)] = 0,
    ) -> StreamingResponse:
        """The case's new transcript lines and status as they happen."""
        await desk.stamp(case_id)  # 404 before the stream starts
        return StreamingResponse(
            updates(request, desk, case_id, after, poll),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return stream
