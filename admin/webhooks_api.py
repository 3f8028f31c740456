"""`/api/v1/webhooks` (admin role): list, register (the secret is in the answer, once) and
remove webhook endpoints — what the `/admin/webhooks` page does, for integrators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from admin.access import Principal
from admin.auth import AdminAuth
from admin.webhook_forms import MAX_URL, clean_events, clean_url, new_secret
from storage import dispatches, webhooks
from storage.loop_tables import WebhookEndpoint

EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""An endpoint's id as a path parameter (a number a database column can hold)."""


class NewWebhook(BaseModel):
    """What registering a webhook takes."""

    url: str = Field(max_length=MAX_URL)
    events: list[str] = Field(min_length=1, max_length=len(webhooks.EVENTS))


def as_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it (never its secret)."""

    def iso(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "created_at": iso(endpoint.created_at),
        "created_by": endpoint.created_by,
        "last_status": endpoint.last_status,
        "last_attempt_at": iso(endpoint.last_attempt_at),
        "last_success_at": iso(endpoint.last_success_at),
        "removed_at": iso(endpoint.removed_at),
    }


def router(auth: AdminAuth, *, admin: Callable[..., Any]) -> APIRouter:
    """The webhooks API for anyone `admin` admits."""
    api = APIRouter(prefix="/api/v1", tags=["admin"])

    @api.get("/webhooks", dependencies=[Depends(admin)])
    async def list_webhooks(removed: bool = False) -> JSONResponse:
        """The registered endpoints with their last status (`?removed=true`: removed ones
        too, with `removed_at`)."""
        async with auth.sessions() as session:
            endpoints = await webhooks.list_endpoints(session=session, include_removed=removed)
        return JSONResponse({"webhooks": [as_json(e) for e in endpoints]})

    @api.post("/webhooks", status_code=201)
    async def add_webhook(
        body: NewWebhook,
        principal: Principal = Depends(admin),  # noqa: B008 - FastAPI's dependency idiom
    ) -> JSONResponse:
        """Register a URL for events; the answer holds its signing secret, this once."""
        url, events = clean_url(body.url), clean_events(body.events)
        if url is None:
            raise HTTPException(422, "url: an absolute http:// or https:// URL")
        if events is None:
            raise HTTPException(422, f"events: one or more of {', '.join(webhooks.EVENTS)}")
        secret = new_secret()
        async with auth.writer.transaction() as session:
            endpoint = await webhooks.add_endpoint(
                session=session,
                url=url,
                events=events,
                secret=secret,
                now=auth.clock(),
                created_by=principal.name,
            )
        return JSONResponse({**as_json(endpoint), "secret": secret}, status_code=201)

    @api.delete("/webhooks/{endpoint_id}", status_code=204, dependencies=[Depends(admin)])
    async def remove_webhook(endpoint_id: EndpointId) -> Response:
        """Stop sending to an endpoint; what is queued for it is given up."""
        async with auth.writer.transaction() as session:
            removed = await webhooks.remove_endpoint(
                session=session, endpoint_id=endpoint_id, now=auth.clock()
            )
            if removed is not None:
                await dispatches.cancel_for_endpoint(
                    session=session, endpoint_id=endpoint_id, status="the endpoint was removed"
                )
        if removed is None:
            raise HTTPException(404, "no such webhook")
        return Response(status_code=204)

    return api
