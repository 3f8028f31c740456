"""Replay protection for signed webhooks, in the database so every app process shares it
(`bot.channel.NonceStore`)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from bot.wechat_signatures import REPLAY_WINDOW_SECONDS
from storage import nonces
from storage.writes import Writer


class DatabaseNonces:
    """Signed requests' (timestamp, nonce) pairs, each accepted for one body only."""

    def __init__(self, writer: Writer, *, window_seconds: int = REPLAY_WINDOW_SECONDS) -> None:
        self.writer = writer
        self.window_seconds = window_seconds

    async def first_use(
        self, channel: str, *, timestamp: int, nonce: str, body: str, now: float
    ) -> bool:
        """Record the pair for this body; False if it came before with another body."""
        async with self.writer.transaction() as session:
            return await nonces.remember(
                session=session,
                channel=channel,
                timestamp=timestamp,
                nonce=nonce,
                body_sha256=hashlib.sha256(body.encode("utf-8", "replace")).hexdigest(),
                prune_before=int(now) - self.window_seconds,
                now=datetime.fromtimestamp(now, UTC),
            )
