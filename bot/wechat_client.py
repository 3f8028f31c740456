"""WeChat's HTTP API through wechatpy, with the access token shared in the database.

wechatpy's client is synchronous (requests), so every call runs in a worker thread.
Its own token handling is per process and its token fetch ignores the base URL;
here the base URL (`WECHAT_API_BASE_URL`) holds for every call, and the token comes
from `storage.tokens`, refreshed by one process at a time before it expires.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import anyio
import requests
from sqlmodel.ext.asyncio.session import AsyncSession
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from storage import tokens
from storage.database import Sessions, transaction

log = logging.getLogger(__name__)

PLATFORM = "wechat"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
"""Invalid, malformed or expired access token: refresh once and retry."""
REFRESH_MARGIN = timedelta(minutes=5)
"""Refresh this long before the token expires (WeChat keeps the old one valid ~5 minutes)."""
LEASE = timedelta(seconds=30)
"""How long one process may take to fetch a token before another may try."""
FETCH_BACKOFF = timedelta(seconds=30)
"""After a failed token fetch (e.g. 40164, IP not whitelisted), no process retries this long."""
SECRET_IN_URL = re.compile(r"(secret|access_token)=[^&\s'\"]+")


def scrub(text: str) -> str:
    """`text` with AppSecrets and access tokens in URLs replaced by `***` (for rows and logs)."""
    return SECRET_IN_URL.sub(r"\1=***", text)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, WeChatClientException) and exc.errcode:
        return f"errcode {exc.errcode}: {exc.errmsg}"
    return f"{type(exc).__name__}: {exc}"


class TokenUnavailable(Exception):
    """No access token could be had (another process holds the refresh, or WeChat refused)."""


class _ThreadToken(SessionStorage):
    """wechatpy's token storage, one value per worker thread: each call brings its token."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self._local, "token", default)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        self._local.token = value

    def delete(self, key: str) -> None:
        self._local.token = None


class ApiClient(WeChatClient):
    """wechatpy's client with every URL, the token fetch included, under `base_url`."""

    def __init__(self, appid: str, secret: str, *, base_url: str, timeout: float) -> None:
        base = base_url.rstrip("/")
        self.API_BASE_URL = f"{base}/cgi-bin/"
        self.token_url = f"{base}/cgi-bin/token"
        super().__init__(appid, secret, session=_ThreadToken(), timeout=timeout, auto_retry=False)

    def fetch_access_token(self) -> dict[str, Any]:
        """GET {base}/cgi-bin/token (wechatpy hard-codes api.weixin.qq.com, and no timeout)."""
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        response = self._http.get(self.token_url, params=params, timeout=self.timeout)
        try:
            response.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(
                None, None, client=self, request=exc.request, response=exc.response
            ) from exc
        result: dict[str, Any] = response.json()
        if int(result.get("errcode", 0) or 0) != 0:
            raise WeChatClientException(
                int(result["errcode"]),
                result.get("errmsg", ""),
                client=self,
                request=response.request,
                response=response,
            )
        return result

    def send_text_with(self, access_token: str, openid: str, text: str) -> dict[str, Any]:
        """Send a customer-service text message using this token (runs in a worker thread)."""
        self.session.set(self.access_token_key, access_token)
        result: dict[str, Any] = self.message.send_text(openid, text)
        return result

    def close(self) -> None:
        """Close the HTTP session wechatpy opens and never closes."""
        self._http.close()


class WeChatApi:
    """The calls cxbot makes to WeChat, off the event loop, with the shared token."""

    def __init__(
        self,
        *,
        app_id: str,
        secret: str,
        base_url: str,
        sessions: Sessions,
        clock: Callable[[], datetime],
        timeout: float = 10.0,
    ) -> None:
        self.app_id = app_id
        self.client = ApiClient(app_id, secret, base_url=base_url, timeout=timeout)
        self.sessions = sessions
        self.clock = clock
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"

    async def access_token(self, *, rejected: str | None = None, wait: float = 15.0) -> str:
        """A valid token: the stored one, or a fresh one when it is near expiry or `rejected`.

        While another process refreshes, or a failed fetch backs off, a token that has not
        yet expired is used as it is; only without one does this wait (up to `wait` s).
        """
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            now = self.clock()
            async with transaction(self.sessions) as session:
                if rejected is not None:
                    await tokens.expire_token(
                        session=session,
                        platform=PLATFORM,
                        app_id=self.app_id,
                        access_token=rejected,
                        now=now,
                    )
                    rejected = None
                row = await tokens.get_token(session=session, platform=PLATFORM, app_id=self.app_id)
                if row is not None and row.access_token and row.expires_at - REFRESH_MARGIN > now:
                    return row.access_token
                usable = row.access_token if row and row.expires_at > now else None
                claimed = await tokens.claim_refresh(
                    session=session,
                    platform=PLATFORM,
                    app_id=self.app_id,
                    owner=self.owner,
                    now=now,
                    lease_until=now + LEASE,
                )
                backoff = None if claimed else await self._backoff(session, now)
            if claimed:
                try:
                    return await self._refresh()
                except TokenUnavailable:
                    if usable:
                        return usable  # still valid for a few minutes: the next send retries
                    raise
            if usable:
                return usable  # another process is refreshing, or a fetch failed just now
            if backoff is not None:
                raise TokenUnavailable(backoff)
            if asyncio.get_running_loop().time() > deadline:
                raise TokenUnavailable("another process is refreshing the access token")
            await asyncio.sleep(0.2)

    async def _backoff(self, session: AsyncSession, now: datetime) -> str | None:
        """Why no fetch may be tried now (a recent failure), or None."""
        row = await tokens.get_token(session=session, platform=PLATFORM, app_id=self.app_id)
        if row is None or row.retry_after is None or row.retry_after <= now:
            return None
        seconds = (row.retry_after - now).total_seconds()
        return f"the last token fetch failed ({row.last_error}); next try in {seconds:.0f} s"

    async def _refresh(self) -> str:
        """Fetch a token under the lease; a failure is recorded and backs off FETCH_BACKOFF."""
        try:
            result = await anyio.to_thread.run_sync(self.client.fetch_access_token)
            token = str(result["access_token"])
            expires_in = int(result.get("expires_in", 7200))
        except Exception as exc:
            error = scrub(_describe(exc))
            now = self.clock()
            async with transaction(self.sessions) as session:
                await tokens.release_refresh(
                    session=session,
                    platform=PLATFORM,
                    app_id=self.app_id,
                    owner=self.owner,
                    now=now,
                    retry_after=now + FETCH_BACKOFF,
                    error=error,
                )
            log.warning(
                "fetching a WeChat access token failed (%s); no new try for %.0f s",
                error,
                FETCH_BACKOFF.total_seconds(),
            )
            raise TokenUnavailable(f"the token fetch failed: {error}") from None
        now = self.clock()
        async with transaction(self.sessions) as session:
            stored = await tokens.store_token(
                session=session,
                platform=PLATFORM,
                app_id=self.app_id,
                owner=self.owner,
                access_token=token,
                expires_at=now + timedelta(seconds=expires_in),
                now=now,
            )
        log.info("fetched a WeChat access token (stored: %s)", stored)
        return token

    async def send_text(self, openid: str, text: str) -> dict[str, Any]:
        """POST message/custom/send; on an invalid token refresh once and retry.

        Raises wechatpy's WeChatClientException for WeChat's errors (45015, 45047, …).
        """
        token = await self.access_token()
        try:
            return await anyio.to_thread.run_sync(self.client.send_text_with, token, openid, text)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeChat rejected the access token (errcode %s); refreshing", exc.errcode)
        token = await self.access_token(rejected=token)
        return await anyio.to_thread.run_sync(self.client.send_text_with, token, openid, text)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()
