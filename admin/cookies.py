"""The signed session cookie on admin and API paths: Starlette's SessionMiddleware, keyed
once the server's secret is known (it may live in the database, read at start-up).

The cookie is `cxbot_admin`: signed (itsdangerous), HttpOnly, SameSite=Lax, with the session
lifetime as Max-Age, and Secure on https requests (always, with CXBOT_ADMIN_SECURE_COOKIES).
Other paths (the web chat, webhooks) never see it.
"""

from __future__ import annotations

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from admin.auth import AdminAuth

COOKIE = "cxbot_admin"


def carries_session(path: str) -> bool:
    """Whether a path gets the session: admin pages and the API, not static files."""
    if path.startswith("/admin/static/"):
        return False
    return path == "/admin" or path.startswith(("/admin/", "/api/"))


class SessionCookies:
    """SessionMiddleware for admin and API paths, built when `auth.cookie_key` is set."""

    def __init__(self, app: ASGIApp, *, auth: AdminAuth) -> None:
        self.app = app
        self.auth = auth
        self._key: str | None = None
        self._plain: SessionMiddleware | None = None
        self._secure: SessionMiddleware | None = None

    def _build(self, key: str) -> None:
        def middleware(secure: bool) -> SessionMiddleware:
            return SessionMiddleware(
                self.app,
                secret_key=key,
                session_cookie=COOKIE,
                max_age=max(60, int(self.auth.config.session_lifetime.total_seconds())),
                same_site="lax",
                https_only=secure,
            )

        self._plain, self._secure, self._key = middleware(False), middleware(True), key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.auth.cookie_key
        if scope["type"] != "http" or key is None or not carries_session(scope["path"]):
            await self.app(scope, receive, send)
            return
        if key != self._key:
            self._build(key)
        secure = self.auth.config.secure_cookies or scope.get("scheme") == "https"
        inner = self._secure if secure else self._plain
        assert inner is not None
        await inner(scope, receive, send)
