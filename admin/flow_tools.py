"""The flow studio's page-internal JSON routes (admin role, CSRF on the session): the
preview of the text being edited (`admin.flow_preview`) and the simulator
(`admin.simulator`). Both are pure functions of the text sent: nothing is stored.

The preview's `errors` are the validate endpoint's (`POST /api/v1/flows/validate`), made by
the same function (`flows.validation.validate`); the editor asks the preview alone, so one
request per pause in typing brings the lint markers, the side-by-side texts and the diagram.

(No `from __future__ import annotations` here: the routes' `Admin` annotation names the
guard the router is built with, which FastAPI can only read as a real object.)
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from admin.access import Principal
from admin.flow_preview import preview
from admin.simulator import SimulationError, Simulator
from flows.safe_yaml import MAX_BYTES

log = logging.getLogger(__name__)
STATUS = {"invalid": 422, "changed": 409, "unavailable": 503}
"""The simulator's refusals; any other (a forged state, an unknown action) is a 400."""


class PreviewBody(BaseModel):
    """A flow's YAML text sent by the editor, and the flow it must be."""

    source: str = Field(max_length=MAX_BYTES)
    flow_id: str | None = Field(default=None, max_length=64)


class SimulateBody(BaseModel):
    """One simulator request: start, or the customer's next move on the signed state."""

    source: str = Field(max_length=MAX_BYTES)
    action: Literal["start", "text", "button", "stop", "human"]
    token: str = Field(default="", max_length=64 * 1024)
    value: str = Field(default="", max_length=4000)
    language: str | None = Field(default=None, max_length=16)
    variables: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict, max_length=8
    )


def router(simulator: Simulator, *, admin: Callable[[Request], Awaitable[Principal]]) -> APIRouter:
    """`POST /admin/flows/preview` and `POST /admin/flows/simulate`."""
    routes = APIRouter()
    Admin = Annotated[Principal, Depends(admin)]

    @routes.post("/admin/flows/preview")
    async def preview_text(body: PreviewBody, _: Admin) -> dict[str, Any]:
        """Problems (`line`, `col`, `message`), side-by-side texts and diagrams of a text."""
        found = await anyio.to_thread.run_sync(
            lambda: preview(body.source, flow_id=body.flow_id, file="draft")
        )
        return found.as_json()

    @routes.post("/admin/flows/simulate")
    async def simulate(body: SimulateBody, _: Admin) -> Response:
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
