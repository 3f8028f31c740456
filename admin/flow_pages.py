"""The flow studio's pages (admin role): `/admin/flows`, the list, and `/admin/flows/{id}`,
the editor with its simulator, side-by-side texts, diagram, diff and history.

The pages are server-rendered from the `FlowStudio` (admin/flow_studio.py); the editor (the
vendored CodeMirror bundle, driven by `static/flow_editor.js`) reads what it needs from a
`<script type="application/json">` element (no inline script: see cxbot/headers.py) and
calls `admin.flow_tools` (preview, simulator), the diff route below, and the flows API
(`/api/v1/flows`) for drafts, publishing, history and restoring.

The diff is Python's difflib on the server (admin/flow_preview.py): no second JavaScript
library, the same result in a test as on the page, and a flow is small (a 40-line file
diffs in well under a millisecond).

(No `from __future__ import annotations` here: the routes' `Admin` annotation names the
guard the router is built with, which FastAPI can only read as a real object.)
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from admin import i18n
from admin.access import Principal
from admin.flow_preview import diff_json
from admin.flow_studio import FlowDetail, FlowMissing, FlowStudio, FlowSummary, StudioError
from admin.rendering import language_of, render
from flows.safe_yaml import MAX_BYTES
from flows.schema import json_schema

EDITOR_BUNDLE = "vendor/codemirror-6.43.15/flow-editor.js"
MERMAID_BUNDLE = "vendor/mermaid-12.3.0/mermaid.min.js"
"""Under the admin static folder; the version is in the path, so caches never mix two."""
FLOW_ID = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
"""The flow language's id pattern (flows/model.py)."""
FlowId = Annotated[str, PathParam(max_length=64, pattern=FLOW_ID.pattern)]
STARTER = """\
# A new interview: one score, one question about why. Edit, try it on the right, publish.
id: {id}
name: {{zh: 新问卷, en: New survey}}
touchpoint: after_support
journey_stage: usage
languages: [zh, en]
default_language: zh
steps:
  - id: ask_score
    type: scale
    metric: csat
    save_as: score
    text:
      zh: 您对这次服务满意吗？
      en: How happy are you with our service?
    labels:
      min: {{zh: 很不满意, en: Very unhappy}}
      max: {{zh: 非常满意, en: Very happy}}
  - id: why
    type: open
    save_as: reason
    optional: true
    text:
      zh: 谢谢！能说说原因吗？
      en: Thank you! Could you tell us why?
  - id: thanks
    type: end
    text:
      zh: 感谢您的反馈！
      en: Thank you for your feedback!
"""
"""The text a new flow starts from (valid, bilingual, three steps)."""
API = "/api/v1/flows"
DIAGRAM_FRAME = "/admin/flow-diagram"
"""The page Mermaid draws in, framed by the editor (the same path as in cxbot/headers.py)."""


class DiffBody(BaseModel):
    """The text to compare with the published one."""

    source: str = Field(max_length=MAX_BYTES)


@dataclass(frozen=True)
class FlowRow:
    """One line of the flow list (and the editor's heading)."""

    id: str
    name: str
    status: str
    version: str | None
    revision: int | None
    author: str | None
    changed_at: str | None
    origin: str | None
    drafts: tuple[str, ...]
    interviews: int
    completion: float | None
    keywords: tuple[str, ...]
    commands: tuple[str, ...]
    api: bool


def flow_row(summary: FlowSummary, language: str) -> FlowRow:
    """What the list shows of a flow, its name in the page's language."""
    name = summary.name
    if isinstance(name, dict):
        name = name.get(language) or next(iter(name.values()), summary.id)
    current = summary.current
    return FlowRow(
        id=summary.id,
        name=name,
        status=summary.status,
        version=current.version if current else None,
        revision=current.revision if current else None,
        author=_who(summary),
        changed_at=current.published_at.strftime("%Y-%m-%d %H:%M UTC") if current else None,
        origin=current.origin if current else None,
        drafts=summary.drafts,
        interviews=summary.started_week,
        completion=summary.completion_rate,
        keywords=summary.keywords,
        commands=summary.commands,
        api=summary.api,
    )


def _who(summary: FlowSummary) -> str | None:
    """Who made the current revision: the admin, else the file it came from."""
    current = summary.current
    if current is None:
        return None
    return current.author or (PurePath(current.path).name if current.path else None)


def _script_texts(language: i18n.Language) -> dict[str, str]:
    """The texts the page's script shows, in the page's language."""
    texts = i18n.TEXTS[language]
    prefix = "studio.js."
    return {key.removeprefix(prefix): texts[key] for key in texts if key.startswith(prefix)}


def _urls(flow_id: str) -> dict[str, str]:
    return {
        "preview": "/admin/flows/preview",
        "simulate": "/admin/flows/simulate",
        "diff": f"/admin/flows/{flow_id}/diff",
        "draft": f"{API}/{flow_id}/draft",
        "publish": f"{API}/{flow_id}/publish",
        "history": f"{API}/{flow_id}/revisions",
        "revision": f"{API}/{flow_id}/revisions/{{n}}",
        "restore": f"{API}/{flow_id}/revisions/{{n}}/restore",
    }


def router(studio: FlowStudio, *, admin: Callable[[Request], Awaitable[Principal]]) -> APIRouter:
    """`GET /admin/flows`, `GET /admin/flows/{id}` and `POST /admin/flows/{id}/diff`."""
    routes = APIRouter()
    Admin = Annotated[Principal, Depends(admin)]

    @routes.get("/admin/flows")
    async def flow_list(request: Request, _: Admin, new: str | None = None) -> Response:
        """Every flow: status, current revision, who changed it, the week's counts, triggers;
        `?new=ID` opens the editor of a new flow with that id."""
        language = language_of(request)
        wanted = (new or "").strip()
        if wanted and FLOW_ID.fullmatch(wanted):
            return RedirectResponse(f"/admin/flows/{wanted}?new=1", status_code=303)
        rows = [flow_row(s, language) for s in await studio.list_flows()]
        context = {"rows": sorted(rows, key=lambda r: r.id), "new_id": wanted[:64]}
        if wanted:
            context["error"] = i18n.translator(language)("studio.new.bad_id")
        return render(request, "flows.html", context)

    @routes.get("/admin/flows/{flow_id}")
    async def editor(request: Request, flow_id: FlowId, who: Admin, new: bool = False) -> Response:
        """The editor of one flow (the admin's own draft when there is one); `?new=1` starts
        a flow that does not exist yet from a small valid text."""
        language = language_of(request)
        try:
            detail = await studio.flow(flow_id)
        except FlowMissing:
            if not new:
                return render(request, "refused.html", _missing(language), status_code=404)
            detail = _new_flow(flow_id)
        try:
            draft = await studio.draft(flow_id, who.name)
        except FlowMissing:
            draft = None
        current = detail.summary.current
        data: dict[str, Any] = {
            "flow_id": flow_id,
            "source": detail.source or "",
            "start": detail.source or STARTER.format(id=flow_id),
            "revision": current.revision if current else 0,
            "published_version": current.version if current else None,
            "draft": None
            if draft is None
            else {
                "source": draft.source,
                "base_revision": draft.base_revision,
                "saved_at": draft.saved_at.isoformat(),
            },
            "schema": json_schema(),
            "texts": _script_texts(language),
            "ui_language": language,
            "urls": _urls(flow_id),
            "diagram_frame": DIAGRAM_FRAME,
        }
        row = flow_row(detail.summary, language)
        context = {
            "row": row,
            "data": data,
            "editor_bundle": EDITOR_BUNDLE,
        }
        return render(request, "flow_editor.html", context)

    @routes.get(DIAGRAM_FRAME)
    async def diagram_frame(request: Request, _: Admin) -> Response:
        """The frame Mermaid draws in (see cxbot/headers.py: its own policy)."""
        return render(request, "flow_diagram.html", {"mermaid_bundle": MERMAID_BUNDLE})

    @routes.post("/admin/flows/{flow_id}/diff")
    async def diff(flow_id: FlowId, body: DiffBody, _: Admin) -> Response:
        """The text's changes against the published revision (all added for a new flow)."""
        try:
            detail = await studio.flow(flow_id)
        except FlowMissing:
            detail = _new_flow(flow_id)  # a new flow: every line is added
        except StudioError as exc:
            return JSONResponse({"detail": exc.detail, "key": exc.key}, status_code=exc.status_code)
        current = detail.summary.current
        return JSONResponse(
            {
                "revision": current.revision if current else 0,
                "version": current.version if current else None,
                **diff_json(detail.source or "", body.source),
            }
        )

    return routes


def _new_flow(flow_id: str) -> FlowDetail:
    """What the editor shows of a flow that is neither published nor drafted yet."""
    summary = FlowSummary(
        id=flow_id,
        name=flow_id,
        status="draft",
        current=None,
        live_version=None,
        keywords=(),
        commands=(),
        api=True,
        drafts=(),
        started_week=0,
        completed_week=0,
        completion_rate=None,
    )
    return FlowDetail(summary=summary, source=None, history=())


def _missing(language: i18n.Language) -> dict[str, str]:
    t = i18n.translator(language)
    return {"heading": t("studio.missing.title"), "message": t("studio.missing")}
