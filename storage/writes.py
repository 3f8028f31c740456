"""Write transactions that queue in the process before they reach the database.

SQLite has one writer: transactions queue on an in-process lock instead of in SQLite's busy
loop, which sleeps in growing steps and turns contention into second-long tails. PostgreSQL
needs no such lock (row locks order the writers).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import Sessions, transaction
from storage.sqlite_driver import inline


class Writer:
    """Opens write transactions; on SQLite one at a time per process."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        bind = sessions.kw.get("bind")
        self._lock = asyncio.Lock() if bind is not None and bind.dialect.name == "sqlite" else None

    def turn(self) -> contextlib.AbstractAsyncContextManager[object]:
        """Hold the process's write turn (a no-op on PostgreSQL)."""
        return self._lock or contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction in this process's turn: committed on success (on SQLite its
        statements run on the loop's thread: `storage.sqlite_driver.inline`)."""
        with inline():
            async with self.turn(), transaction(self.sessions) as session:
                yield session
