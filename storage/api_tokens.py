"""Stored API tokens (only their SHA-256): create, find the live one, list, revoke."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ApiToken


async def add_token(
    *,
    session: AsyncSession,
    name: str,
    role: str,
    token_hash: str,
    prefix: str,
    now: datetime,
    created_by: str | None = None,
) -> ApiToken:
    """Store a new token's hash."""
    token = ApiToken(
        name=name,
        role=role,
        token_hash=token_hash,
        prefix=prefix,
        created_at=now,
        created_by=created_by,
    )
    session.add(token)
    await session.flush()
    return token


async def live_token(*, session: AsyncSession, token_hash: str) -> ApiToken | None:
    """The unrevoked token with this hash."""
    found = await session.exec(
        select(ApiToken)
        .where(ApiToken.token_hash == token_hash)
        .where(col(ApiToken.revoked_at).is_(None))
    )
    return found.first()


async def mark_used(*, session: AsyncSession, token_id: int, now: datetime) -> None:
    """Note that the token was used now."""
    await session.exec(
        update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now)
    )


async def list_tokens(*, session: AsyncSession) -> Sequence[ApiToken]:
    """Every token, newest first (revoked ones too)."""
    return (await session.exec(select(ApiToken).order_by(col(ApiToken.id).desc()))).all()


async def revoke(*, session: AsyncSession, token_id: int, now: datetime) -> ApiToken | None:
    """Revoke a token (None when there is no such token; a revoked one stays revoked)."""
    token = await session.get(ApiToken, token_id)
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
    return token
