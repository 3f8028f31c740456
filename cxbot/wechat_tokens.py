"""WeChat's access token shared by every app process (`bot.channel.TokenSource`).

WeChat allows one valid token per app: a fetch replaces the old one. The token lives in the
database (`storage.tokens`); one process at a time refreshes it under a short lease, fetching
outside any transaction; a failed fetch backs off for every process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.wechat_client import TokenUnavailable, describe, scrub
from storage import tokens
from storage.database import Sessions, transaction

log = logging.getLogger(__name__)

PLATFORM = "wechat"
REFRESH_MARGIN = timedelta(minutes=5)
"""Refresh this long before the token expires (WeChat keeps the old one valid ~5 minutes)."""
LEASE = timedelta(seconds=30)
"""How long one process may take to fetch a token before another may try."""
FETCH_BACKOFF = timedelta(seconds=30)
"""After a failed token fetch (e.g. 40164, IP not whitelisted), no process retries this long."""

Fetch = Callable[[], Awaitable[tuple[str, int]]]
"""Ask WeChat for a new token: (access_token, expires_in seconds)."""


class SharedToken:
    """The app's access token, from the database, refreshed by one process at a time."""

    def __init__(
        self,
        *,
        app_id: str,
        fetch: Fetch,
        sessions: Sessions,
        clock: Callable[[], datetime],
    ) -> None:
        self.app_id = app_id
        self.fetch = fetch
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
            token, expires_in = await self.fetch()
        except Exception as exc:
            error = scrub(describe(exc))
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
