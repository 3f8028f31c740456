"""The API tokens page (admins only): list, create (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from admin import i18n, tokens
from admin.access import ROLES, Principal, page_role, require_csrf
from admin.auth import AdminAuth
from admin.rendering import flash, language_of, render
from admin.users_page import has_hidden
from storage import api_tokens
from storage.conversation_list import MAX_ID

PAGE = "/admin/tokens"
Admin = Annotated[Principal, Depends(page_role("admin"))]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""An id a row can have (a larger one was a 500: INTEGER overflow on both databases)."""


def router(auth: AdminAuth) -> APIRouter:
    """The tokens page and its forms."""
    pages = APIRouter(include_in_schema=False)  # HTML pages: not in /openapi.json

    async def page(request: Request, *, status_code: int = 200, **extra: Any) -> Response:
        async with auth.sessions() as session:
            listed = await api_tokens.list_tokens(session=session)
        context = {
            "tokens": listed,
            "roles": ROLES,
            "legacy": auth.config.legacy_api_token is not None,
            **extra,
        }
        # a page showing a new secret is never cached, and the secret is in no URL
        return render(request, "tokens.html", context, status_code=status_code)

    @pages.get(PAGE)
    async def list_tokens(request: Request, _admin: Admin) -> Response:
        """Every token (revoked ones too), and the form to create one."""
        return await page(request)

    @pages.post(PAGE, dependencies=[Depends(require_csrf)])
    async def create_token(
        request: Request,
        admin: Admin,
        name: Annotated[str, Form(max_length=200)],
        role: Annotated[str, Form(max_length=16)],
    ) -> Response:
        """Make a token and show it this once."""
        name = name.strip()
        t = i18n.translator(language_of(request))
        if not 1 <= len(name) <= 64 or has_hidden(name):
            return await page(request, status_code=400, error=t("tokens.error.name"))
        if role not in ROLES:
            return await page(request, status_code=400, error=t("users.error.role"))
        created = await tokens.create(
            auth.writer, name=name, role=role, now=auth.clock(), created_by=admin.name
        )
        return await page(request, created=created)

    @pages.post(PAGE + "/{token_id}/revoke", dependencies=[Depends(require_csrf)])
    async def revoke_token(request: Request, _admin: Admin, token_id: RowId) -> Response:
        """Revoke a token: it stops working at once."""
        async with auth.writer.transaction() as session:
            token = await api_tokens.revoke(session=session, token_id=token_id, now=auth.clock())
        if token is None:
            t = i18n.translator(language_of(request))
            return await page(request, status_code=404, error=t("users.error.missing"))
        flash(request, "tokens.revoked_done", name=token.name)
        return RedirectResponse(PAGE, status_code=303)

    return pages
