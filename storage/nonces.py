"""Webhook nonces seen recently, shared by every app process (replay protection).

A signed webhook request carries a timestamp and a nonce. A request is accepted only
while its timestamp is fresh, and each (timestamp, nonce) pair only for one body: the
same pair with the same body is the platform retrying (processed once by message id),
the same pair with another body is a replay of a captured signature. Rows older than
the freshness window are pruned: such a request is refused for its age anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import utcnow


class WebhookNonce(SQLModel, table=True):
    """One (timestamp, nonce) pair a channel's webhook accepted, and the body it came with."""

    __tablename__ = "webhook_nonce"
    channel: str = Field(primary_key=True, max_length=32)
    timestamp: int = Field(primary_key=True)
    """The request's timestamp (seconds since the epoch, as the platform sent it)."""
    nonce: str = Field(primary_key=True, max_length=64)
    body_sha256: str = Field(max_length=64)
    """The hex SHA-256 of the request's (decrypted) body."""
    seen_at: datetime = Field(default_factory=utcnow)


async def remember(
    *,
    session: AsyncSession,
    channel: str,
    timestamp: int,
    nonce: str,
    body_sha256: str,
    prune_before: int,
    now: datetime,
) -> bool:
    """Record a request's nonce; False when the pair was seen before with another body.

    Also deletes the channel's pairs whose timestamp is older than `prune_before`.
    """
    await session.exec(
        delete(WebhookNonce).where(
            col(WebhookNonce.channel) == channel, col(WebhookNonce.timestamp) < prune_before
        )
    )
    seen = await _get(session, channel, timestamp, nonce)
    if seen is None:
        try:
            async with session.begin_nested():
                session.add(
                    WebhookNonce(
                        channel=channel,
                        timestamp=timestamp,
                        nonce=nonce,
                        body_sha256=body_sha256,
                        seen_at=now,
                    )
                )
            return True
        except IntegrityError:
            seen = await _get(session, channel, timestamp, nonce)  # another process, just now
    return seen is not None and seen.body_sha256 == body_sha256


async def _get(
    session: AsyncSession, channel: str, timestamp: int, nonce: str
) -> WebhookNonce | None:
    statement = select(WebhookNonce).where(
        WebhookNonce.channel == channel,
        WebhookNonce.timestamp == timestamp,
        WebhookNonce.nonce == nonce,
    )
    return (await session.exec(statement)).first()
