"""Who may do what: roles, the signed-in principal, and the guards every admin route uses.

    viewer < agent < admin        (a higher role may do everything a lower one may)

- `page_role(role)`: a dependency for HTML pages. A signed-in user with at least `role`
  passes; not signed in → 303 to `/admin/login?next=…`; signed in with a lower role → a 403
  page.
- `api_role(role)`: a dependency for `/api/v1/…`. `Authorization: Bearer <token>` (a stored
  token, or CXBOT_API_TOKEN as an admin token), or the signed-in session cookie (then a
  state-changing method also needs the CSRF token in `X-CSRF-Token`). 401 with
  `WWW-Authenticate: Bearer` / 403, as JSON.
- `require_csrf`: a dependency for every state-changing form or fetch: the token in the form
  field `csrf_token` or the header `X-CSRF-Token` must be the one bound to the session.
- `csrf_token(request)`: the session's token, for templates (`{{ csrf_token(request) }}`).

Who a session or a token belongs to is answered by the `Authenticator` the app installs on
`app.state.admin_auth` (`admin.auth.AdminAuth`); without one nobody is signed in.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import quote

from fastapi import HTTPException, Request

Role = Literal["viewer", "agent", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "agent", "admin")
"""From the least to the most allowed."""
RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_PATH = "/admin/login"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user or an API token, with its role."""

    kind: Literal["user", "token"]
    id: int
    """The user's or the stored token's id (0 for CXBOT_API_TOKEN)."""
    name: str
    role: Role

    def can(self, role: Role) -> bool:
        """Whether this principal has at least `role`."""
        return RANK[self.role] >= RANK[role]


class Authenticator(Protocol):
    """Finds the principal behind a session cookie or a bearer token."""

    async def from_session(self, request: Request) -> Principal | None:
        """The signed-in user of the request's session, if it is still valid."""

    async def from_bearer(self, token: str) -> Principal | None:
        """The principal of an API token, if it is valid and not revoked."""


class PageRefused(HTTPException):
    """A page the signed-in user may not open (403) or a form with a bad CSRF token; the
    admin app renders it as a page, anything else as JSON."""

    def __init__(self, status_code: int, *, reason: str, needed: Role | None = None) -> None:
        super().__init__(status_code=status_code, detail=reason)
        self.reason = reason
        """`forbidden` or `csrf`."""
        self.needed = needed


def authenticator(request: Request) -> Authenticator | None:
    """The app's authenticator (None when the admin app is not installed)."""
    found: Authenticator | None = getattr(request.app.state, "admin_auth", None)
    return found


def session_of(request: Request) -> dict[str, Any] | None:
    """The request's signed session (None where the session middleware does not run)."""
    session: dict[str, Any] | None = request.scope.get("session")
    return session


def login_url(request: Request) -> str:
    """`/admin/login?next=<this page>`."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{LOGIN_PATH}?next={quote(here, safe='')}"


async def signed_in(request: Request) -> Principal | None:
    """The signed-in user (cached on the request), or None."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None and cached.kind == "user":
        return cached
    auth = authenticator(request)
    principal = None if auth is None else await auth.from_session(request)
    if principal is not None:
        request.state.principal = principal
    return principal


def page_role(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency for an HTML page that needs a signed-in user with at least `role`."""

    async def signed_in_with_role(request: Request) -> Principal:
        principal = await signed_in(request)
        if principal is None:
            raise HTTPException(status_code=303, headers={"Location": login_url(request)})
        if not principal.can(role):
            raise PageRefused(403, reason="forbidden", needed=role)
        return principal

    signed_in_with_role.__name__ = f"page_role_{role}"
    return signed_in_with_role


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def api_role(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency for an API route: a bearer token or the session, with at least `role`."""

    async def authorized_with_role(request: Request) -> Principal:
        header = request.headers.get("authorization")
        auth = authenticator(request)
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise _unauthorized("send Authorization: Bearer <token>")
            principal = None if auth is None else await auth.from_bearer(token.strip())
            if principal is None:
                raise _unauthorized("a valid API token is required")
        else:
            principal = await signed_in(request)
            if principal is None:
                raise _unauthorized("a valid API token is required")
            if request.method not in SAFE_METHODS and not await _csrf_matches(request):
                raise HTTPException(status_code=403, detail="CSRF token missing or invalid")
        if not principal.can(role):
            raise HTTPException(status_code=403, detail=f"this needs the {role} role")
        request.state.principal = principal
        return principal

    authorized_with_role.__name__ = f"api_role_{role}"
    return authorized_with_role


def csrf_token(request: Request) -> str:
    """The CSRF token bound to the request's session (made on first use)."""
    session = session_of(request)
    if session is None:
        return ""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


async def _csrf_matches(request: Request) -> bool:
    session = session_of(request)
    expected = None if session is None else session.get("csrf")
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)  # cached: Form() parameters still work
    return (
        isinstance(sent, str)
        and isinstance(expected, str)
        and bool(expected)
        and secrets.compare_digest(sent.encode(), expected.encode())
    )


async def require_csrf(request: Request) -> None:
    """Refuse (403) a state-changing request without the session's CSRF token.

    An API request with a bearer token is not checked here: browsers never add one by
    themselves, so no other site can forge it (`api_role` checks the token itself). Pages
    take only the session, so there a bearer header excuses nothing.
    """
    if request.method in SAFE_METHODS:
        return
    if request.url.path.startswith("/api/") and request.headers.get(
        "authorization", ""
    ).lower().startswith("bearer "):
        return
    if not await _csrf_matches(request):
        raise PageRefused(403, reason="csrf")
