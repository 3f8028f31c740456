"""Who is signed in, and signing in and out: server-side sessions behind a signed cookie,
stored API tokens, CXBOT_API_TOKEN as an admin token, and the database-backed sign-in limit.

The cookie (Starlette's SessionMiddleware, see admin/cookies.py) holds only a random session
id and the CSRF token; the `admin_session` row with the id's SHA-256 is the session. Signing
out deletes the row, so a copied cookie stops working at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from fastapi import Request

from admin import passwords, tokens
from admin.access import ROLES, Principal, Role, session_of
from admin.limits import SignInLimit
from storage import api_tokens, sign_in_attempts, users
from storage.database import Sessions
from storage.models import utcnow
from storage.writes import Writer

TOUCH_EVERY = timedelta(minutes=1)
"""`last_seen_at` / `last_used_at` are written at most this often per session or token."""
LEGACY_TOKEN_NAME = "CXBOT_API_TOKEN"  # noqa: S105 - a name shown in lists, not a secret


@dataclass(frozen=True)
class AuthConfig:
    """The admin app's settings, as the app factory hands them over."""

    session_lifetime: timedelta = timedelta(hours=12)
    """How long a sign-in lasts (the cookie's Max-Age and the session row's expiry)."""
    legacy_api_token: str | None = None
    """CXBOT_API_TOKEN: accepted as an admin token on /api/v1."""
    secure_cookies: bool = False
    """Always mark the cookie Secure (otherwise only on https requests)."""
    limit: SignInLimit = field(default_factory=SignInLimit)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt."""

    outcome: Literal["ok", "failed", "limited"]
    retry_minutes: int = 0


def _role(value: str) -> Role:
    return value if value in ROLES else "viewer"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class AdminAuth:
    """The authenticator installed on `app.state.admin_auth` (see admin.access)."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        writer: Writer,
        config: AuthConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.writer = writer
        self.config = config
        self.clock = clock
        self.cookie_key: str | None = None
        """Signs the session cookie; set at start-up by `use_key` (the key lives in the DB)."""

    def use_key(self, secret: bytes) -> None:
        """Key the session cookie from the server's secret (a key of its own, derived)."""
        self.cookie_key = hmac.new(secret, b"cxbot admin session", hashlib.sha256).hexdigest()

    async def from_session(self, request: Request) -> Principal | None:
        """The signed-in user of the request's session cookie, if the session is live."""
        cookie = session_of(request)
        session_id = None if cookie is None else cookie.get("sid")
        if not isinstance(session_id, str) or not session_id:
            return None
        now = self.clock()
        key = _hash(session_id)
        async with self.sessions() as session:
            found = await users.session_user(session=session, session_hash=key, now=now)
        if found is None:
            assert cookie is not None
            cookie.pop("sid", None)  # ended elsewhere, expired or the user is gone
            cookie["flash"] = ["login.expired", {}]
            return None
        row, user = found
        if now - row.last_seen_at >= TOUCH_EVERY:
            async with self.writer.transaction() as session:
                await users.touch_session(session=session, session_hash=key, now=now)
        assert user.id is not None
        return Principal(kind="user", id=user.id, name=user.name, role=_role(user.role))

    async def from_bearer(self, token: str) -> Principal | None:
        """The principal of a bearer token: CXBOT_API_TOKEN (admin) or a stored token."""
        legacy = self.config.legacy_api_token
        if legacy and hmac.compare_digest(token.encode(), legacy.encode()):
            return Principal(kind="token", id=0, name=LEGACY_TOKEN_NAME, role="admin")
        if not tokens.looks_like_ours(token):
            return None
        now = self.clock()
        async with self.sessions() as session:
            found = await api_tokens.live_token(session=session, token_hash=tokens.digest(token))
        if found is None:
            return None
        assert found.id is not None
        if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
            async with self.writer.transaction() as session:
                await api_tokens.mark_used(session=session, token_id=found.id, now=now)
        return Principal(kind="token", id=found.id, name=found.name, role=_role(found.role))

    async def sign_in(self, request: Request, name: str, password: str) -> SignIn:
        """Check a name and password under the limit; on success start a new session
        (a new cookie content: whatever was planted in the old one is dropped, and the
        session it held, if any, ends)."""
        limit = self.config.limit
        now = self.clock()
        window = limit.window_start(now)
        address = request.client.host if request.client else "unknown"
        by_address = f"ip:{address}"
        by_name = f"user:{name.casefold()}"[:200]
        over = False
        async with self.writer.transaction() as session:
            # the address first: once it is over its limit, a refused attempt stores no
            # window for its name (else one address could add rows without end)
            for subject, most in ((by_address, limit.per_address), (by_name, limit.per_user)):
                await sign_in_attempts.count_attempt(
                    session=session, subject=subject, window_start=window
                )
                counted = await sign_in_attempts.attempts_since(
                    session=session, subject=subject, since=limit.counted_since(now)
                )
                if counted > most:
                    over = True
                    break
        if over:
            return SignIn("limited", limit.retry_minutes(now))
        async with self.sessions() as session:
            user = await users.user_named(session=session, name=name)
        usable = user is not None and not user.disabled
        ok, new_hash = await passwords.check(
            user.password_hash if user is not None and usable else None, password
        )
        if not ok or user is None or user.id is None:
            return SignIn("failed")
        session_id = secrets.token_urlsafe(32)
        cookie = session_of(request)
        previous = None if cookie is None else cookie.get("sid")
        async with self.writer.transaction() as session:
            if isinstance(previous, str) and previous:  # the session this cookie held ends
                await users.end_session(session=session, session_hash=_hash(previous))
            await sign_in_attempts.purge(session=session, before=limit.counted_since(now))
            await users.purge_sessions(session=session, now=now)
            await sign_in_attempts.forget(session=session, subject=by_name)
            await sign_in_attempts.uncount_attempt(
                session=session, subject=by_address, window_start=window
            )
            if new_hash is not None:
                await users.set_password_hash(
                    session=session, user_id=user.id, password_hash=new_hash, end_sessions=False
                )
            await users.start_session(
                session=session,
                session_hash=_hash(session_id),
                user_id=user.id,
                now=now,
                expires=now + self.config.session_lifetime,
            )
        if cookie is not None:
            cookie.clear()
            cookie.update({"sid": session_id, "csrf": secrets.token_urlsafe(32)})
        request.state.principal = Principal(
            kind="user", id=user.id, name=user.name, role=_role(user.role)
        )
        return SignIn("ok")

    async def sign_out(self, request: Request) -> None:
        """End the request's session: its row is deleted and the cookie emptied."""
        cookie = session_of(request)
        if cookie is None:
            return
        session_id = cookie.get("sid")
        if isinstance(session_id, str) and session_id:
            async with self.writer.transaction() as session:
                await users.end_session(session=session, session_hash=_hash(session_id))
        cookie.clear()
        request.state.principal = None
