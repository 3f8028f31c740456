"""A small app with the transcript pages and API, as cxbot/app.py mounts them, signed in as
an agent (the guards are parameters; tests/admin/test_*auth* cover who may pass)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from admin.access import Principal
from admin.rendering import STATIC, STATIC_PATH
from admin.transcript_pages import pages_router
from admin.transcripts_api import api_router
from storage.database import Sessions

AGENT = Principal(kind="user", id=1, name="agent <ann>", role="agent")


def signed_in_agent(request: Request) -> Principal:
    """A guard that lets an agent in (the app uses `access.page_role("agent")`)."""
    request.state.principal = AGENT
    return AGENT


def transcript_app(sessions: Sessions) -> FastAPI:
    app = FastAPI()
    app.include_router(pages_router(sessions, agent=signed_in_agent, flow_ids=lambda: ["nps"]))
    app.include_router(api_router(sessions, agent=signed_in_agent))
    app.mount(STATIC_PATH, StaticFiles(directory=str(STATIC)), name="admin-static")
    return app
