"""`cxbot worker` (work the analysis queue until stopped) and `cxbot analyze --since DATE
[--redo]` (queue the open answers and cases since a date and work them now)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cxbot.settings import Settings


def _date(value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{value}' is not a date; write e.g. 2026-11-01"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `worker` and `analyze`."""
    commands.add_parser(
        "worker", help="work the analysis queue (themes, sentiment, case summaries)"
    )
    analyze = commands.add_parser("analyze", help="analyze the open answers and cases since a date")
    analyze.add_argument("--since", type=_date, required=True, help="a date (UTC), e.g. 2026-11-01")
    analyze.add_argument(
        "--redo", action="store_true", help="also re-analyze what was analyzed already"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `worker` or `analyze`."""
    from storage.migrations import upgrade

    if settings.auto_migrate:
        upgrade(settings.database_url)
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    # the model's client is imported only by the commands that use it
    from cxbot.intelligence import build, describe
    from flows.registry import FlowRegistry
    from storage import analysis as queue
    from storage.database import create_engine, create_sessions, transaction
    from storage.writes import Writer

    engine = create_engine(settings.database_url, timeout=settings.database_timeout_seconds)
    sessions = create_sessions(engine)
    registry = FlowRegistry(settings.flow_paths)
    for error in await registry.refresh_async():
        print(f"cxbot: {error}", file=sys.stderr)
    intelligence = build(
        settings,
        sessions=sessions,
        writer=Writer(sessions),
        registry=registry,
        clock=lambda: datetime.now(UTC),
    )
    print(describe(intelligence), file=sys.stderr)
    worker = intelligence.worker
    try:
        if args.command == "worker":
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            print("working the analysis queue; Ctrl+C stops", file=sys.stderr)
            await worker.run(settings.analysis_poll_seconds, stop)
            return 0
        queued = await worker.queue_since(args.since, redo=args.redo)
        done = failed = 0
        while True:
            worked = await worker.work(limit=50)
            done, failed = done + worked.done, failed + worked.failed
            if not worked.done and not worked.failed:
                break
        async with transaction(sessions) as session:
            states = await queue.counts(session=session)
        print(
            f"queued {queued}, analyzed {done}, failed {failed}; "
            f"waiting {states.get('pending', 0)} (retried later by the worker)"
        )
        return 0
    finally:
        await intelligence.aclose()
        await engine.dispose()
