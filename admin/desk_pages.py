"""The agents' pages (agent role): the queue `/admin/escalations` and the case page
`/admin/escalations/{id}` with its forms (claim, reply, note, status, resolve, close) and its
live stream (`admin.desk_stream`). Built by `router(desk)` around a `DeskService`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from admin import i18n
from admin.access import Principal, page_role, require_csrf
from admin.desk import CaseCard, CaseFile, DeskError, DeskService, Limits
from admin.rendering import flash, language_of, render

PAGE = "/admin/escalations"
Agent = Annotated[Principal, Depends(page_role("agent"))]
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""A case id in a path (an INTEGER column: PostgreSQL refuses a larger number)."""


def duration(t: i18n.Translate, seconds: int) -> str:
    """`12 min`, `2 h 5 min`, `3 d 4 h` in the page's language."""
    minutes = max(0, abs(seconds)) // 60
    if minutes < 60:
        return t("desk.minutes", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return t("desk.hours", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return t("desk.days", d=days, h=hours)


def named(t: i18n.Translate, prefix: str, value: str | None) -> str:
    """The translated name of a code (a reason, a channel…), or the code itself."""
    if value is None:
        return ""
    key = f"{prefix}.{value}"
    text = t(key)
    return value if text == key else text


def when(at: datetime | None) -> str:
    """A time as the pages show it (UTC, to the minute)."""
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def deadline(t: i18n.Translate, card: CaseCard) -> str:
    """`2 h 5 min left`, `overdue by 12 min`, or `answered`."""
    if card.status not in ("open", "assigned", "waiting"):
        return named(t, "desk.status", card.status)
    if card.first_reply_at is not None:
        return t("desk.answered")
    if card.seconds_left < 0:
        return t("desk.overdue", time=duration(t, card.seconds_left))
    return t("desk.left", time=duration(t, card.seconds_left))


def limit_lines(t: i18n.Translate, limits: Limits) -> list[tuple[str, bool]]:
    """What the reply box says about the channel's limits: (text, whether it blocks)."""
    hours = f"{limits.window_hours:.0f}" if limits.window_hours is not None else ""
    if limits.refusal is not None:
        return [(t(limits.refusal, hours=hours, quota=limits.quota or 0), True)]
    shown: list[tuple[str, bool]] = []
    if limits.window_left_seconds is not None:
        left = duration(t, limits.window_left_seconds)
        shown.append((t("desk.limit.window", hours=hours, time=left), False))
    if limits.quota is not None and limits.sends_left is not None:
        shown.append((t("desk.limit.quota", left=limits.sends_left, quota=limits.quota), False))
    return shown


def helpers(request: Request) -> dict[str, Callable[..., Any]]:
    """Formatting functions the desk templates use."""
    t = i18n.translator(language_of(request))
    return {
        "deadline": lambda card: deadline(t, card),
        "named": lambda prefix, value: named(t, prefix, value),
        "when": when,
        "limit_lines": lambda limits: limit_lines(t, limits),
    }


def router(desk: DeskService) -> APIRouter:
    """The queue, the case page and its forms."""
    pages = APIRouter(include_in_schema=False)

    async def case_page(
        request: Request, case_id: int, *, status_code: int = 200, **extra: Any
    ) -> Response:
        try:
            found: CaseFile = await desk.case(case_id)
        except DeskError as error:
            t = i18n.translator(language_of(request))
            return render(
                request,
                "refused.html",
                {"heading": t("desk.error.missing"), "message": t(error.key)},
                status_code=error.status_code,
            )
        unsettled = [x.id for x in found.lines if x.state in ("pending", "sending")]
        last = max((x.id for x in found.lines), default=0)
        context = {"case": found, "watch_from": min(unsettled) - 1 if unsettled else last}
        return render(
            request,
            "escalation.html",
            {**helpers(request), **context, **extra},
            status_code=status_code,
        )

    async def act(
        request: Request, case_id: int, action: Any, done: str, **fields: str
    ) -> Response:
        """Run a form's action; back to the case page with a notice, or the page with the
        error (the form's status code)."""
        try:
            await action()
        except DeskError as error:
            t = i18n.translator(language_of(request))
            if error.status_code == 404:
                return await case_page(request, case_id, status_code=404)
            return await case_page(
                request, case_id, status_code=error.status_code, error=t(error.key)
            )
        flash(request, done, id=str(case_id), **fields)
        return RedirectResponse(f"{PAGE}/{case_id}", status_code=303)

    @pages.get(PAGE)
    async def queue(request: Request, _agent: Agent, show: str = "open") -> Response:
        """Open cases by priority and deadline (or the finished ones)."""
        finished = show == "done"
        cards = await desk.queue(statuses=("resolved", "closed") if finished else None)
        return render(
            request, "escalations.html", {**helpers(request), "cards": cards, "finished": finished}
        )

    @pages.get(PAGE + "/{case_id}")
    async def case(request: Request, _agent: Agent, case_id: CaseId) -> Response:
        """The case: transcript (live), reply box, notes, status and resolve forms."""
        return await case_page(request, case_id)

    @pages.post(PAGE + "/{case_id}/claim", dependencies=[Depends(require_csrf)])
    async def claim(request: Request, agent: Agent, case_id: CaseId) -> Response:
        return await act(request, case_id, lambda: desk.claim(case_id, agent), "desk.claimed_done")

    @pages.post(PAGE + "/{case_id}/reply", dependencies=[Depends(require_csrf)])
    async def reply(
        request: Request, agent: Agent, case_id: CaseId, text: Annotated[str, Form(max_length=4000)]
    ) -> Response:
        outcome: dict[str, Any] = {}

        async def send() -> None:
            outcome["sent"] = await desk.reply(case_id, agent, text)

        answer = await act(request, case_id, send, "desk.reply.sent")
        sent = outcome.get("sent")
        if sent is not None and sent.state != "sent":
            key = "desk.reply.failed" if sent.state == "failed" else "desk.reply.pending"
            flash(request, key, error=sent.error or "")
        return answer

    @pages.post(PAGE + "/{case_id}/note", dependencies=[Depends(require_csrf)])
    async def note(
        request: Request, agent: Agent, case_id: CaseId, text: Annotated[str, Form(max_length=8000)]
    ) -> Response:
        return await act(
            request, case_id, lambda: desk.add_note(case_id, agent, text), "desk.notes.added"
        )

    @pages.post(PAGE + "/{case_id}/status", dependencies=[Depends(require_csrf)])
    async def status(
        request: Request, agent: Agent, case_id: CaseId, status: Annotated[str, Form(max_length=16)]
    ) -> Response:
        t = i18n.translator(language_of(request))
        return await act(
            request,
            case_id,
            lambda: desk.set_status(case_id, agent, status),
            "desk.status_done",
            status=named(t, "desk.status", status),
        )

    @pages.post(PAGE + "/{case_id}/resolve", dependencies=[Depends(require_csrf)])
    async def resolve(
        request: Request,
        agent: Agent,
        case_id: CaseId,
        outcome: Annotated[str, Form(max_length=32)],
        note: Annotated[str, Form(max_length=8000)] = "",
        ask: Annotated[str, Form(max_length=8)] = "",
    ) -> Response:
        return await act(
            request,
            case_id,
            lambda: desk.resolve(case_id, agent, outcome=outcome, note=note, ask=ask == "yes"),
            "desk.resolved_done",
        )

    @pages.post(PAGE + "/{case_id}/close", dependencies=[Depends(require_csrf)])
    async def close(
        request: Request,
        agent: Agent,
        case_id: CaseId,
        note: Annotated[str, Form(max_length=8000)] = "",
    ) -> Response:
        return await act(
            request, case_id, lambda: desk.close(case_id, agent, note=note), "desk.closed_done"
        )

    return pages
