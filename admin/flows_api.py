"""`/api/v1/flows`: flows as published revisions — list, one flow with its text and history,
a revision's or a version's text, validation, drafts, publishing, restoring and retiring.
Viewers read; admins draft and publish (a session cookie's writes need the CSRF token).

(No `from __future__ import annotations` here: the routes' `Viewer` and `Admin` annotations
name the factory's local aliases, which FastAPI must see as objects, not strings.)"""

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from admin.access import Principal
from admin.flow_studio import Draft, FlowDetail, FlowStudio, FlowSummary, Revision, StudioError
from flows.safe_yaml import MAX_BYTES
from flows.validation import Problem, Validation

log = logging.getLogger(__name__)

FlowId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
"""A flow id as a path parameter (the flow language's own pattern)."""
RevisionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
VersionHash = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]{1,32}$")]
Source = Annotated[str, Field(max_length=MAX_BYTES)]
"""A flow's YAML text (at most as long as a flow file may be, in characters)."""


class SourceBody(BaseModel):
    """A flow text to check."""

    source: Source
    flow_id: str | None = Field(default=None, max_length=64)
    """When given, the text's `id` must be this."""


class DraftBody(BaseModel):
    """A draft to keep."""

    source: Source
    base_revision: int | None = Field(default=None, ge=0, le=2**31 - 1)


class PublishBody(BaseModel):
    """What to publish: `source`, or (without it) the caller's draft."""

    source: Source | None = None
    expected_revision: int | None = Field(default=None, ge=0, le=2**31 - 1)
    """Refuse (409) unless this is still the current revision (0: the flow is new)."""


def author_of(principal: Principal) -> str:
    """Who publishes or drafts: a user's name, or `token:<name>` for an API token (a token
    and a user may share a name; their drafts stay apart)."""
    return principal.name if principal.kind == "user" else f"token:{principal.name}"


def problem_json(problem: Problem) -> dict[str, Any]:
    """A problem as the API shows it."""
    return {"line": problem.line, "col": problem.column, "message": problem.message}


def validation_json(validation: Validation) -> dict[str, Any]:
    """`{ok, errors, flow_id, version}`."""
    loaded = validation.loaded
    return {
        "ok": validation.ok,
        "errors": [problem_json(p) for p in validation.problems],
        "flow_id": loaded.flow.id if loaded else None,
        "version": loaded.version if loaded else None,
    }


def revision_json(revision: Revision) -> dict[str, Any]:
    """A revision as the API shows it."""
    return {
        "flow_id": revision.flow_id,
        "revision": revision.revision,
        "version": revision.version,
        "origin": revision.origin,
        "path": revision.path,
        "author": revision.author,
        "restored_from": revision.restored_from,
        "published_at": revision.published_at.isoformat(),
    }


def summary_json(summary: FlowSummary) -> dict[str, Any]:
    """A flow as the list shows it."""
    current = summary.current
    return {
        "id": summary.id,
        "name": summary.name,
        "status": summary.status,
        "revision": current.revision if current else None,
        "version": current.version if current else None,
        "origin": current.origin if current else None,
        "path": current.path if current else None,
        "author": current.author if current else None,
        "published_at": current.published_at.isoformat() if current else None,
        "live_version": summary.live_version,
        "triggers": {
            "keywords": list(summary.keywords),
            "commands": list(summary.commands),
            "api": summary.api,
        },
        "drafts": list(summary.drafts),
        "counts": {
            "started_week": summary.started_week,
            "completed_week": summary.completed_week,
            "completion_rate": summary.completion_rate,
        },
    }


def detail_json(detail: FlowDetail) -> dict[str, Any]:
    """One flow with its text and history."""
    return {
        **summary_json(detail.summary),
        "source": detail.source,
        "history": [revision_json(r) for r in detail.history],
    }


def draft_json(draft: Draft) -> dict[str, Any]:
    """A draft with its problems."""
    return {
        "flow_id": draft.flow_id,
        "author": draft.author,
        "source": draft.source,
        "base_revision": draft.base_revision,
        "saved_at": draft.saved_at.isoformat(),
        "errors": [problem_json(p) for p in draft.problems],
    }


def error_response(exc: StudioError) -> JSONResponse:
    """A studio error as JSON: `{detail, key}`, and `errors` for a broken text."""
    body: dict[str, Any] = {"detail": exc.detail, "key": exc.key}
    problems = getattr(exc, "problems", None)
    if problems is not None:
        body["errors"] = [problem_json(p) for p in problems]
    return JSONResponse(body, status_code=exc.status_code)


def router(
    studio: FlowStudio, *, viewer: Callable[..., Any], admin: Callable[..., Any]
) -> APIRouter:
    """The flows API: reads for anyone `viewer` admits, writes for `admin`."""
    api = APIRouter(prefix="/api/v1/flows", tags=["flows"])
    Viewer = Annotated[Principal, Depends(viewer)]
    Admin = Annotated[Principal, Depends(admin)]

    @api.get("")
    async def list_flows(_who: Viewer) -> JSONResponse:
        """Every flow with its status, current revision, triggers and the week's counts."""
        return JSONResponse({"flows": [summary_json(s) for s in await studio.list_flows()]})

    @api.post("/validate")
    async def validate(body: SourceBody, _who: Viewer) -> JSONResponse:
        """Check a text (stores nothing): `{ok, errors: [{line, col, message}], ...}`."""
        return JSONResponse(
            validation_json(await studio.validate(body.source, flow_id=body.flow_id))
        )

    @api.get("/{flow_id}")
    async def one_flow(flow_id: FlowId, _who: Viewer) -> Response:
        """A flow's summary, current text and history."""
        try:
            return JSONResponse(detail_json(await studio.flow(flow_id)))
        except StudioError as exc:
            return error_response(exc)

    @api.get("/{flow_id}/revisions")
    async def revisions(flow_id: FlowId, _who: Viewer) -> Response:
        """A flow's publications, newest first."""
        try:
            detail = await studio.flow(flow_id)
        except StudioError as exc:
            return error_response(exc)
        return JSONResponse({"revisions": [revision_json(r) for r in detail.history]})

    @api.get("/{flow_id}/revisions/{number}")
    async def one_revision(flow_id: FlowId, number: RevisionNumber, _who: Viewer) -> Response:
        """One revision with its text."""
        try:
            found, source = await studio.revision(flow_id, number)
        except StudioError as exc:
            return error_response(exc)
        return JSONResponse({**revision_json(found), "source": source})

    @api.get("/{flow_id}/versions/{version}")
    async def one_version(flow_id: FlowId, version: VersionHash, _who: Viewer) -> Response:
        """The text of any stored version (also one only running conversations use)."""
        try:
            source = await studio.version_source(flow_id, version)
        except StudioError as exc:
            return error_response(exc)
        return JSONResponse({"flow_id": flow_id, "version": version, "source": source})

    @api.get("/{flow_id}/draft")
    async def get_draft(flow_id: FlowId, who: Admin) -> Response:
        """The caller's draft of the flow (404 when there is none)."""
        try:
            return JSONResponse(draft_json(await studio.draft(flow_id, author_of(who))))
        except StudioError as exc:
            return error_response(exc)

    @api.put("/{flow_id}/draft")
    async def put_draft(flow_id: FlowId, body: DraftBody, who: Admin) -> Response:
        """Keep the caller's draft (also a broken one: its `errors` are in the answer)."""
        try:
            draft = await studio.save_draft(
                flow_id, author_of(who), body.source, body.base_revision
            )
        except StudioError as exc:
            return error_response(exc)
        return JSONResponse(draft_json(draft))

    @api.delete("/{flow_id}/draft")
    async def delete_draft(flow_id: FlowId, who: Admin) -> Response:
        """Throw the caller's draft away."""
        try:
            await studio.discard_draft(flow_id, author_of(who))
        except StudioError as exc:
            return error_response(exc)
        return Response(status_code=204)

    @api.post("/{flow_id}/publish")
    async def publish(flow_id: FlowId, body: PublishBody, who: Admin) -> Response:
        """Publish `source` or the caller's draft as the next revision (201); a broken
        text is 422 with its `errors` and is not published."""
        try:
            published = await studio.publish(
                flow_id,
                author=author_of(who),
                source=body.source,
                expected_revision=body.expected_revision,
            )
        except StudioError as exc:
            return error_response(exc)
        return JSONResponse(revision_json(published), status_code=201)

    @api.post("/{flow_id}/revisions/{number}/restore")
    async def restore(flow_id: FlowId, number: RevisionNumber, who: Admin) -> Response:
        """Publish an older revision's text as a new revision (a rollback), 201."""
        try:
            published = await studio.restore(flow_id, number, author=author_of(who))
        except StudioError as exc:
            return error_response(exc)
        return JSONResponse(revision_json(published), status_code=201)

    @api.post("/{flow_id}/retire")
    async def retire(flow_id: FlowId, who: Admin) -> Response:
        """Stop the flow starting new interviews; publishing it again brings it back."""
        try:
            return JSONResponse(summary_json(await studio.retire(flow_id, author=author_of(who))))
        except StudioError as exc:
            return error_response(exc)

    return api
