"""The flow studio's pages (admin role): `/admin/flows`, the list, and `/admin/flows/{id}`,
the editor with its simulator, side-by-side texts, diagram, diff and history.

The pages are server-rendered; the editor (the vendored CodeMirror bundle, driven by
`static/flow_editor.js`) reads what it needs from a `<script type="application/json">`
element (no inline script: see cxbot/headers.py) and calls the JSON routes below — and the
flows API (`/api/v1/flows`) for drafts, publishing and history. The routes here are pure
functions of the text sent (`admin.flow_preview`, `admin.simulator`): none of them writes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from admin import i18n
from admin.access import Principal, api_role, page_role
from admin.flow_preview import diff_json, preview
from admin.rendering import language_of, render
from admin.simulator import SimulationError, Simulator
from flows.loader import LoadedFlow
from flows.safe_yaml import MAX_BYTES
from flows.schema import json_schema

EDITOR_BUNDLE = "vendor/codemirror-6.43.15/flow-editor.js"
MERMAID_BUNDLE = "vendor/mermaid-12.3.0/mermaid.min.js"
"""Under the admin static folder; the version is in the path, so caches never mix two."""
FlowId = Annotated[str, PathParam(max_length=64, pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
STATUS = {"invalid": 422, "changed": 409, "unavailable": 503}
"""The simulator's refusals; any other (a forged state, an unknown action) is a 400."""
log = logging.getLogger(__name__)


class SourceBody(BaseModel):
    """A flow's YAML text sent by the editor."""

    source: str = Field(max_length=MAX_BYTES)


class SimulateBody(BaseModel):
    """One simulator request: start, or the customer's next move on the signed state."""

    source: str = Field(max_length=MAX_BYTES)
    action: Literal["start", "text", "button", "stop", "human"]
    token: str = Field(default="", max_length=64 * 1024)
    value: str = Field(default="", max_length=4000)
    language: str | None = Field(default=None, max_length=16)
    variables: dict[str, str] = Field(default_factory=dict, max_length=8)


@dataclass(frozen=True)
class FlowRow:
    """One line of the flow list."""

    id: str
    name: str
    version: str
    steps: int
    keywords: tuple[str, ...]
    commands: tuple[str, ...]
    api: bool
    status: str = "published"
    has_draft: bool = False
    revision: int | None = None
    author: str | None = None
    changed_at: str | None = None
    origin: str = "file"
    interviews: int | None = None
    completion: float | None = None


def _row(loaded: LoadedFlow, language: str) -> FlowRow:
    flow = loaded.flow
    name = (
        flow.name
        if isinstance(flow.name, str)
        else flow.name.get(language) or next(iter(flow.name.values()), flow.id)
    )
    return FlowRow(
        id=flow.id,
        name=name,
        version=loaded.version,
        steps=len(flow.steps),
        keywords=tuple(flow.start.keywords),
        commands=tuple(flow.start.commands),
        api=flow.start.api,
    )


def _script_texts(language: i18n.Language) -> dict[str, str]:
    texts = i18n.TEXTS[language]
    return {
        key.removeprefix("studio.js."): texts[key] for key in texts if key.startswith("studio.js.")
    }


def router(
    *,
    flows: Callable[[], Sequence[LoadedFlow]],
    simulator: Simulator,
    admin_page: Callable[[Request], Awaitable[Principal]] | None = None,
    admin_api: Callable[[Request], Awaitable[Principal]] | None = None,
) -> APIRouter:
    """The studio's pages and JSON routes; `flows()` are the published flows."""
    page = admin_page or page_role("admin")
    api = admin_api or api_role("admin")
    routes = APIRouter()
    AdminPage = Annotated[Principal, Depends(page)]
    AdminApi = Annotated[Principal, Depends(api)]

    def find(flow_id: str) -> LoadedFlow:
        for loaded in flows():
            if loaded.flow.id == flow_id:
                return loaded
        raise HTTPException(status_code=404, detail="no such flow")

    @routes.get("/admin/flows")
    async def flow_list(request: Request, _: AdminPage) -> Response:
        """Every flow with its version and what starts it."""
        language = language_of(request)
        rows = sorted((_row(f, language) for f in flows()), key=lambda r: r.id)
        return render(request, "flows.html", {"rows": rows})

    @routes.get("/admin/flows/{flow_id}")
    async def editor(request: Request, flow_id: FlowId, _: AdminPage) -> Response:
        """The editor of one flow, with the simulator beside it."""
        loaded = find(flow_id)
        language = language_of(request)
        data: dict[str, Any] = {
            "flow_id": loaded.flow.id,
            "source": loaded.source,
            "published_version": loaded.version,
            "languages": list(loaded.flow.languages),
            "schema": json_schema(),
            "texts": _script_texts(language),
            "ui_language": language,
            "urls": {
                "preview": "/admin/flows/preview",
                "diff": f"/admin/flows/{loaded.flow.id}/diff",
                "simulate": "/admin/flows/simulate",
            },
        }
        return render(
            request,
            "flow_editor.html",
            {
                "row": _row(loaded, language),
                "data": data,
                "editor_bundle": EDITOR_BUNDLE,
                "mermaid_bundle": MERMAID_BUNDLE,
            },
        )

    @routes.post("/admin/flows/preview")
    async def preview_text(body: SourceBody, _: AdminApi) -> dict[str, Any]:
        """Problems (`line`, `col`, `message`), side-by-side texts and diagrams of a text."""
        return preview(body.source, file="draft").as_json()

    @routes.post("/admin/flows/{flow_id}/diff")
    async def diff(flow_id: FlowId, body: SourceBody, _: AdminApi) -> dict[str, Any]:
        """The text's changes against the published version."""
        loaded = find(flow_id)
        return {"published_version": loaded.version, **diff_json(loaded.source, body.source)}

    @routes.post("/admin/flows/simulate")
    async def simulate(body: SimulateBody, _: AdminApi) -> Response:
        """Start the simulated interview or take the customer's next move; writes nothing."""
        try:
            if body.action == "start" or not body.token:
                turn = simulator.start(
                    body.source, language=body.language, variables=body.variables
                )
            else:
                turn = simulator.reply(body.source, body.token, body.action, body.value)
        except SimulationError as exc:
            status = STATUS.get(exc.code, 400)
            if status == 400:
                log.warning("POST /admin/flows/simulate: %s; answered 400", exc.detail)
            return JSONResponse(
                {"detail": exc.detail, "code": exc.code, "errors": exc.errors}, status_code=status
            )
        return JSONResponse(turn.as_json())

    return routes
