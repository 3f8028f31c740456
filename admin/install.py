"""Putting the admin app into the FastAPI app: the session cookie, the refused-page
handler, the authenticator on `app.state.admin_auth` and the sign-in, users and tokens
pages. The app factory calls `install(...)` and, at start-up, `auth.use_key(secret)`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from admin import i18n, login, tokens_page, users_page
from admin.access import PageRefused
from admin.auth import AdminAuth
from admin.cookies import SessionCookies
from admin.rendering import language_of, render


async def _refused(request: Request, exc: Exception) -> Response:
    """A readable 403 page on admin paths; JSON elsewhere (the API)."""
    assert isinstance(exc, PageRefused)
    if not request.url.path.startswith("/admin"):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    t = i18n.translator(language_of(request))
    principal = getattr(request.state, "principal", None)
    if exc.reason == "csrf":
        heading, message = t("error.csrf.title"), t("error.csrf")
    else:
        names = i18n.role_names(language_of(request))
        role = names.get(principal.role, "") if principal is not None else ""
        needed = names.get(exc.needed or "admin", "")
        heading, message = (
            t("error.forbidden.title"),
            t("error.forbidden", role=role, needed=needed),
        )
    return render(
        request,
        "refused.html",
        {"heading": heading, "message": message},
        status_code=exc.status_code,
    )


def install(app: FastAPI, auth: AdminAuth) -> None:
    """Mount the admin app's middleware, handlers and pages on `app`."""
    app.state.admin_auth = auth
    app.add_middleware(SessionCookies, auth=auth)
    app.add_exception_handler(PageRefused, _refused)
    app.include_router(login.router(auth))
    app.include_router(users_page.router(auth))
    app.include_router(tokens_page.router(auth))
