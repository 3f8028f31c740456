"""The webhooks page (`/admin/webhooks`, admins only): registered URLs with their last
status, the form to add one (its signing secret is shown once), recent deliveries and
notices, and whether the agents' Telegram group and WeCom robot are set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from admin import i18n
from admin.access import Principal, page_role, require_csrf
from admin.auth import AdminAuth
from admin.rendering import flash, language_of, render
from admin.webhook_forms import clean_events, clean_url, new_secret
from admin.webhooks_api import EndpointId
from storage import dispatches, webhooks

PAGE = "/admin/webhooks"
Admin = Annotated[Principal, Depends(page_role("admin"))]
STATES = ("pending", "sending", "sent", "failed")
NOTICE_TARGETS = ("telegram", "wecom")


def router(auth: AdminAuth, *, targets: Mapping[str, bool]) -> APIRouter:
    """The page and its two forms (add, remove)."""
    pages = APIRouter(include_in_schema=False)

    async def page(request: Request, *, status_code: int = 200, **extra: Any) -> Response:
        async with auth.sessions() as session:
            every = await webhooks.list_endpoints(session=session, include_removed=True)
            recent = await dispatches.recent(session=session, limit=30)
        t = i18n.translator(language_of(request))
        context = {
            "event_names": {e: t(f"webhooks.event.{e}") for e in webhooks.EVENTS},
            "state_names": {s: t(f"webhooks.state.{s}") for s in STATES},
            "target_names": {n: t(f"webhooks.notices.{n}") for n in NOTICE_TARGETS},
            "endpoints": [e for e in every if e.removed_at is None],
            "urls": {f"webhook:{e.id}": e.url for e in every},
            "recent": recent,
            "events": webhooks.EVENTS,
            "targets": dict(targets),
            **extra,
        }
        return render(request, "webhooks.html", context, status_code=status_code)

    @pages.get(PAGE)
    async def show(request: Request, _admin: Admin) -> Response:
        """The endpoints, the deliveries and the form to add one."""
        return await page(request)

    @pages.post(PAGE, dependencies=[Depends(require_csrf)])
    async def add(
        request: Request,
        admin: Admin,
        url: Annotated[str, Form(max_length=2000)] = "",
        events: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 - FastAPI copies
    ) -> Response:
        """Register a URL; its secret is shown this once."""
        t = i18n.translator(language_of(request))
        cleaned, chosen = clean_url(url), clean_events(events)
        if cleaned is None:
            return await page(request, status_code=400, error=t("webhooks.error.url"), url=url)
        if chosen is None:
            return await page(request, status_code=400, error=t("webhooks.error.events"), url=url)
        secret = new_secret()
        async with auth.writer.transaction() as session:
            await webhooks.add_endpoint(
                session=session,
                url=cleaned,
                events=chosen,
                secret=secret,
                now=auth.clock(),
                created_by=admin.name,
            )
        return await page(request, created={"url": cleaned, "secret": secret})

    @pages.post(PAGE + "/{endpoint_id}/remove", dependencies=[Depends(require_csrf)])
    async def remove(request: Request, _admin: Admin, endpoint_id: EndpointId) -> Response:
        """Stop sending to a URL (what is queued for it is given up)."""
        async with auth.writer.transaction() as session:
            removed = await webhooks.remove_endpoint(
                session=session, endpoint_id=endpoint_id, now=auth.clock()
            )
            if removed is not None:
                await dispatches.cancel_for_endpoint(
                    session=session, endpoint_id=endpoint_id, status="the endpoint was removed"
                )
        if removed is None:
            t = i18n.translator(language_of(request))
            return await page(request, status_code=404, error=t("webhooks.error.missing"))
        flash(request, "webhooks.removed", url=removed.url)
        return RedirectResponse(PAGE, status_code=303)

    return pages
