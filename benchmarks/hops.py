"""Hand-offs to the SQLite thread, event-loop iterations and CPU per web chat message.

Run: .venv/bin/python benchmarks/hops.py [--customers 200]
The conversation service on a temporary SQLite file, in process, one message at a time
(start, a tapped score, a typed reason per customer). A hand-off is one function queued
to the connection's thread (aiosqlite's `Connection._execute`). Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event

from cxbot.conversations import ConversationService, Incoming
from flows.registry import BUILTIN_DIR, FlowRegistry
from storage import sqlite_driver
from storage.database import create_engine, create_sessions
from storage.migrations import upgrade


def messages(ref: str) -> list[Incoming]:
    """One customer's NPS interview as the web chat sends it."""
    common: dict[str, Any] = {"channel": "web", "customer_ref": ref, "replies": "inline"}
    return [
        Incoming(
            **common, kind="command", command="start", flow_id="nps", platform_message_id=f"{ref}-0"
        ),
        Incoming(**common, kind="button", button="ask_score:9", platform_message_id=f"{ref}-1"),
        Incoming(**common, text="quick and friendly", platform_message_id=f"{ref}-2"),
    ]


class Counter:
    """Counts calls to aiosqlite's queue and turns of the running loop."""

    def __init__(self) -> None:
        self.hops = 0
        self.turns = 0
        self.statements = 0

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        original_execute = aiosqlite.Connection._execute
        counter = self

        async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
            counter.hops += 1
            return await original_execute(self, fn, *args, **kw)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
        run_once = loop._run_once  # type: ignore[attr-defined]

        def counted_turn() -> None:
            counter.turns += 1
            run_once()

        loop._run_once = counted_turn  # type: ignore[attr-defined]


async def run(customers: int) -> None:
    counter = Counter()
    counter.install(asyncio.get_running_loop())
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'hops.db'}"
        await asyncio.to_thread(upgrade, url)
        db = create_engine(url)

        @event.listens_for(db.sync_engine, "before_cursor_execute")
        def _count(*_: Any) -> None:
            counter.statements += 1

        registry = FlowRegistry([BUILTIN_DIR])
        registry.refresh()
        service = ConversationService(sessions=create_sessions(db), registry=registry)
        for n in range(20):  # warm up: connections, statement cache, flow versions
            for message in messages(f"warm-{n}"):
                await service.handle(message)
        counter.hops = counter.turns = counter.statements = 0
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(customers):
            for message in messages(f"c-{n}"):
                await service.handle(message)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await db.dispose()
    total = customers * 3
    print(
        f"{total} messages, sequential: {total / wall:,.0f} msg/s, "
        f"CPU {cpu / total * 1000:.2f} ms/msg (process, incl. the SQLite thread); "
        f"per message: {counter.statements / total:.1f} statements, "
        f"{counter.hops / total:.1f} hand-offs, {counter.turns / total:.1f} loop iterations"
    )


def stock_dbapi() -> Any:
    """SQLAlchemy's own aiosqlite adapter (several hand-offs per statement)."""
    import sqlite3

    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

    return AsyncAdapt_aiosqlite_dbapi(aiosqlite, sqlite3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument(
        "--stock", action="store_true", help="SQLAlchemy's aiosqlite adapter, for comparison"
    )
    args = parser.parse_args()
    if args.stock:
        sqlite_driver.dbapi = stock_dbapi  # type: ignore[assignment]
    print("stock aiosqlite adapter:" if args.stock else "storage.sqlite_driver:", end=" ")
    asyncio.run(run(args.customers))


if __name__ == "__main__":
    main()
