"""Whose turn it is: one customer's messages are handled one at a time and in order in a
process, and on SQLite one write transaction at a time — each wait bounded, so a stalled
database gives a quick error instead of a queue that never moves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from storage.writes import Writer


class Turns:
    """The in-process locks a customer's messages queue on (64, by hash) and the writer."""

    def __init__(self, writer: Writer, *, wait_seconds: float) -> None:
        self.writer = writer
        self.wait_seconds = wait_seconds
        """How long a message may queue for its customer's lock and the write turn."""
        self._locks = [asyncio.Lock() for _ in range(64)]

    def _lock(self, channel: str, ref: str) -> asyncio.Lock:
        return self._locks[hash((channel, ref)) % len(self._locks)]

    @contextlib.asynccontextmanager
    async def hold(self, channel: str, customer_ref: str) -> AsyncIterator[None]:
        """Hold the customer's lock and the write turn, queueing at most `wait_seconds`
        (TimeoutError: the writers ahead are stuck on a stalled database)."""
        async with contextlib.AsyncExitStack() as held:
            try:
                async with asyncio.timeout(self.wait_seconds):
                    await held.enter_async_context(self._lock(channel, customer_ref))
                    await held.enter_async_context(self.writer.turn())
            except TimeoutError:
                raise TimeoutError(
                    f"waited {self.wait_seconds:g} s for the database write turn"
                ) from None
            yield
