"""Signing in and out (the dashboard at `/admin` is `admin.dashboard_page`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from admin import i18n
from admin.access import Principal, page_role, require_csrf, signed_in
from admin.auth import AdminAuth
from admin.rendering import language_of, render

HOME = "/admin"
Viewer = Annotated[Principal, Depends(page_role("viewer"))]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    if (
        not target
        or len(target) > 2000
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return HOME
    parts = urlsplit(target)
    return HOME if parts.scheme or parts.netloc else target


def router(auth: AdminAuth) -> APIRouter:
    """`/admin/login`, `/admin/logout` and the `/admin` placeholder."""
    pages = APIRouter(include_in_schema=False)  # HTML pages: not in /openapi.json

    @pages.get("/admin/login")
    async def login_form(request: Request, next: str | None = None) -> Response:
        """The sign-in form (a signed-in user goes straight on)."""
        target = safe_next(next)
        if await signed_in(request) is not None:
            return RedirectResponse(target, status_code=303)
        context = {"next": target, "name": ""}
        if "bye" in request.query_params:
            context["notice"] = i18n.translator(language_of(request))("login.signed_out")
        return render(request, "login.html", context)

    @pages.post("/admin/login", dependencies=[Depends(require_csrf)])
    async def login(
        request: Request,
        name: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "",
    ) -> Response:
        """Check the name and password (rate-limited); 303 to `next` on success."""
        target = safe_next(next)
        name = name.strip()[:64]
        result = await auth.sign_in(request, name, password)
        if result.outcome == "ok":
            return RedirectResponse(target, status_code=303)
        context = {"next": target, "name": name}
        if result.outcome == "limited":
            language = language_of(request)
            others = [language, *(lang for lang in i18n.LANGUAGES if lang != language)]
            lines = [
                {
                    "lang": lang,
                    "text": i18n.translator(lang)("login.limited", minutes=result.retry_minutes),
                }
                for lang in others
            ]
            heading = i18n.translator(language)("login.limited.title")
            return render(
                request,
                "login.html",
                {**context, "limited": lines, "heading": heading},
                status_code=429,
                headers={"Retry-After": str(result.retry_minutes * 60)},
            )
        t = i18n.translator(language_of(request))
        return render(
            request, "login.html", {**context, "error": t("login.failed")}, status_code=400
        )

    @pages.post("/admin/logout", dependencies=[Depends(require_csrf)])
    async def logout(request: Request) -> Response:
        """End this session (its row is deleted: a copied cookie stops working too)."""
        await auth.sign_out(request)
        return RedirectResponse("/admin/login?bye=1", status_code=303)

    return pages
