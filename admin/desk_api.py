"""The integrators' escalation API (agent role): list cases, claim, reply, resolve — for
teams that work in their own helpdesk. Built by `router(desk, guard=...)`.

(No `from __future__ import annotations` here: the routes' `Agent` annotation names the
guard the router is built with, which FastAPI can only read as a real object.)"""

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from admin.access import Principal
from admin.desk import CaseCard, DeskError, DeskService
from admin.desk_stream import line_json

CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Status = Literal["open", "assigned", "waiting", "resolved", "closed"]
Priority = Literal["urgent", "high", "normal", "low"]


class ReplyBody(BaseModel):
    """An agent's message to the customer."""

    text: str = Field(min_length=1, max_length=2000)


class ResolveBody(BaseModel):
    """Resolve a case."""

    outcome: str = Field(max_length=32)
    """An outcome code: fixed, refund, compensation, explained, no_fault, other."""
    note: str = Field(default="", max_length=4000)
    ask_closing: bool = True
    """Ask the customer "Was your issue resolved?" (when they are still in the chat)."""


class CloseBody(BaseModel):
    """Close a case without contacting the customer."""

    note: str = Field(default="", max_length=4000)


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class StatusBody(BaseModel):
    status: Literal["open", "assigned", "waiting"]


def card_json(card: CaseCard) -> dict[str, Any]:
    """A case as the API shows it."""
    return dict(jsonable_encoder(asdict(card)))


def _refused(error: DeskError) -> HTTPException:
    return HTTPException(status_code=error.status_code, detail=error.detail)


def router(desk: DeskService, *, guard: Callable[..., Any]) -> APIRouter:
    """`/api/v1/escalations…`, each route behind `guard`."""
    api = APIRouter(prefix="/api/v1/escalations", tags=["escalations"])
    Agent = Annotated[Principal, Depends(guard)]

    @api.get("")
    async def list_escalations(
        _agent: Agent,
        status: Annotated[list[Status] | None, Query()] = None,
        priority: Priority | None = None,
        channel: Annotated[str | None, Query(max_length=32)] = None,
        overdue: bool = False,
    ) -> JSONResponse:
        """Cases, most pressing first: open ones unless `status` (repeatable) says
        otherwise; `overdue=true`: past the deadline with no agent reply yet."""
        cards = await desk.queue(
            statuses=tuple(status) if status else None,
            priority=priority,
            channel=channel,
            overdue=overdue,
        )
        return JSONResponse({"escalations": [card_json(c) for c in cards]})

    @api.get("/{case_id}")
    async def get_escalation(_agent: Agent, case_id: CaseId) -> JSONResponse:
        """One case with its transcript and notes."""
        try:
            found = await desk.case(case_id)
        except DeskError as error:
            raise _refused(error) from None
        return JSONResponse(
            {
                **card_json(found.card),
                "note": found.note,
                "transcript": [line_json(line) for line in found.lines],
                "notes": jsonable_encoder([asdict(n) for n in found.notes]),
            }
        )

    @api.post("/{case_id}/claim")
    async def claim(agent: Agent, case_id: CaseId) -> JSONResponse:
        """Assign the case to the caller; 409 when another agent was first."""
        try:
            return JSONResponse(card_json(await desk.claim(case_id, agent)))
        except DeskError as error:
            raise _refused(error) from None

    @api.post("/{case_id}/reply")
    async def reply(agent: Agent, case_id: CaseId, body: ReplyBody) -> JSONResponse:
        """Send a message to the customer in their channel: `state` sent, pending (queued)
        or failed (with `error`, e.g. WeChat's 48-hour window)."""
        try:
            sent = await desk.reply(case_id, agent, body.text)
        except DeskError as error:
            raise _refused(error) from None
        return JSONResponse(asdict(sent), status_code=200 if sent.state != "pending" else 202)

    @api.post("/{case_id}/note")
    async def note(agent: Agent, case_id: CaseId, body: NoteBody) -> JSONResponse:
        """An internal note (never sent to the customer)."""
        try:
            added = await desk.add_note(case_id, agent, body.text)
        except DeskError as error:
            raise _refused(error) from None
        return JSONResponse(jsonable_encoder(asdict(added)), status_code=201)

    @api.post("/{case_id}/status")
    async def status(agent: Agent, case_id: CaseId, body: StatusBody) -> JSONResponse:
        """waiting (on the customer), assigned (back from waiting) or open (unassigned)."""
        try:
            return JSONResponse(card_json(await desk.set_status(case_id, agent, body.status)))
        except DeskError as error:
            raise _refused(error) from None

    @api.post("/{case_id}/resolve")
    async def resolve(agent: Agent, case_id: CaseId, body: ResolveBody) -> JSONResponse:
        """Resolve with an outcome code and a note (and the closing question)."""
        try:
            card = await desk.resolve(
                case_id, agent, outcome=body.outcome, note=body.note, ask=body.ask_closing
            )
        except DeskError as error:
            raise _refused(error) from None
        return JSONResponse(card_json(card))

    @api.post("/{case_id}/close")
    async def close(agent: Agent, case_id: CaseId, body: CloseBody) -> JSONResponse:
        """Close without contact (no closing question; the conversation ends)."""
        try:
            return JSONResponse(card_json(await desk.close(case_id, agent, note=body.note)))
        except DeskError as error:
            raise _refused(error) from None

    return api
