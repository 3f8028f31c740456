"""Platform access tokens (WeChat's access_token), shared by every app process.

WeChat allows one valid token per app: a fetch replaces the old one (which keeps
working for a few minutes). So the token lives in the database, not in process
memory, and one process at a time refreshes it: it takes a short lease on the row,
fetches outside any transaction, then stores the new token and drops the lease.
A failed fetch is recorded with a `retry_after` time: until then no process asks again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import utcnow

NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class PlatformToken(SQLModel, table=True):
    """The current access token of one platform app, and who is refreshing it."""

    __tablename__ = "platform_token"
    platform: str = Field(primary_key=True, max_length=32)
    """wechat, wecom, …"""
    app_id: str = Field(primary_key=True, max_length=128)
    access_token: str = Field(default="", max_length=1024)
    expires_at: datetime = Field(default=NEVER)
    refreshed_at: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=64)
    """The process fetching a new token right now."""
    lease_until: datetime | None = None
    """When that lease lapses (a crashed refresher does not block the others)."""
    retry_after: datetime | None = None
    """After a failed fetch, no process tries again before this (WeChat's errors repeat)."""
    last_error: str | None = Field(default=None, max_length=300)
    """Why the last fetch failed (secrets scrubbed)."""
    updated_at: datetime = Field(default_factory=utcnow)


async def get_token(*, session: AsyncSession, platform: str, app_id: str) -> PlatformToken | None:
    """The stored token row of an app, if any."""
    statement = select(PlatformToken).where(
        PlatformToken.platform == platform, PlatformToken.app_id == app_id
    )
    return (await session.exec(statement)).first()


async def claim_refresh(
    *,
    session: AsyncSession,
    platform: str,
    app_id: str,
    owner: str,
    now: datetime,
    lease_until: datetime,
) -> bool:
    """Take the refresh lease unless another process holds a live one or a failed fetch
    is backing off (`retry_after`); True when taken."""
    if await get_token(session=session, platform=platform, app_id=app_id) is None:
        try:
            async with session.begin_nested():
                session.add(PlatformToken(platform=platform, app_id=app_id, updated_at=now))
        except IntegrityError:
            pass  # another process created it first
    statement = (
        update(PlatformToken)
        .where(
            col(PlatformToken.platform) == platform,
            col(PlatformToken.app_id) == app_id,
            or_(col(PlatformToken.lease_until).is_(None), col(PlatformToken.lease_until) < now),
            or_(col(PlatformToken.retry_after).is_(None), col(PlatformToken.retry_after) <= now),
        )
        .values(lease_owner=owner, lease_until=lease_until, updated_at=now)
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


def _leased_to(platform: str, app_id: str, owner: str) -> tuple[Any, ...]:
    """The token row of one account, as long as `owner` still holds its refresh lease."""
    return (
        col(PlatformToken.platform) == platform,
        col(PlatformToken.app_id) == app_id,
        col(PlatformToken.lease_owner) == owner,
    )


async def store_token(
    *,
    session: AsyncSession,
    platform: str,
    app_id: str,
    owner: str,
    access_token: str,
    expires_at: datetime,
    now: datetime,
) -> bool:
    """Save a freshly fetched token and release the lease; False if `owner` lost the lease.

    A refresher whose lease lapsed must not overwrite a newer token fetched by another.
    """
    statement = (
        update(PlatformToken)
        .where(*_leased_to(platform, app_id, owner))
        .values(
            access_token=access_token,
            expires_at=expires_at,
            refreshed_at=now,
            updated_at=now,
            lease_owner=None,
            lease_until=None,
            retry_after=None,
            last_error=None,
        )
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def release_refresh(
    *,
    session: AsyncSession,
    platform: str,
    app_id: str,
    owner: str,
    now: datetime,
    retry_after: datetime | None = None,
    error: str | None = None,
) -> None:
    """Give up a refresh lease after a failed fetch; nobody refetches before `retry_after`."""
    statement = (
        update(PlatformToken)
        .where(*_leased_to(platform, app_id, owner))
        .values(
            lease_owner=None,
            lease_until=None,
            updated_at=now,
            retry_after=retry_after,
            last_error=error[:300] if error else None,
        )
    )
    await session.exec(statement)


async def expire_token(
    *, session: AsyncSession, platform: str, app_id: str, access_token: str, now: datetime
) -> None:
    """Mark a token the platform rejected as expired (only if it is still the stored one)."""
    statement = (
        update(PlatformToken)
        .where(
            col(PlatformToken.platform) == platform,
            col(PlatformToken.app_id) == app_id,
            col(PlatformToken.access_token) == access_token,
        )
        .values(expires_at=NEVER, updated_at=now)
    )
    await session.exec(statement)
