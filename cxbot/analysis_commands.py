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
    from collections.abc import Callable

    from cxbot.analyze_text import Analyzer
    from cxbot.llm import ModelConfig
    from cxbot.settings import Settings
    from flows.analysis import ThemeBook


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
    from storage.database import create_engine, create_sessions, reading
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
        async with reading(sessions) as session:
            states = await queue.counts(session=session)
        print(
            f"queued {queued}, analyzed {done}, failed {failed}; "
            f"waiting {states.get('pending', 0)} (retried later by the worker)"
        )
        return 0
    finally:
        await intelligence.aclose()
        await engine.dispose()


def analyze_text(args: argparse.Namespace) -> int:
    """`cxbot analyze-text` with the model when one is configured (its daily budget counted
    in the database, like the server's), the offline analyzer otherwise."""
    from cxbot import analyze_text as command
    from cxbot.llm import ModelConfig
    from cxbot.settings import Settings

    try:
        settings = Settings()
    except ValueError:  # settings the model path cannot use: the offline analyzer answers
        return command.run(args)
    config = ModelConfig.from_settings(settings)
    if config is None:
        return command.run(args)
    from storage.migrations import upgrade

    if settings.auto_migrate:
        upgrade(settings.database_url)
    loop = asyncio.new_event_loop()
    try:
        return command.run(args, analyzer_for=_model_reader(settings, config, loop))
    finally:
        loop.close()


def _model_reader(
    settings: Settings, config: ModelConfig, loop: asyncio.AbstractEventLoop
) -> Callable[[ThemeBook], Analyzer]:
    """`ThemeBook -> (text -> TextAnalysis)`, each answer read by the model on `loop`."""
    from datetime import UTC, datetime

    from cxbot.analyst import Analyst
    from cxbot.llm import DatabaseLedger, LanguageModel
    from flows.analysis import TextAnalysis
    from storage.database import create_engine, create_sessions
    from storage.writes import Writer

    def analyzer_for(book: ThemeBook) -> Analyzer:
        async def build() -> Analyst:
            engine = create_engine(settings.database_url, timeout=settings.database_timeout_seconds)
            sessions = create_sessions(engine)
            ledger = DatabaseLedger(
                sessions=sessions, writer=Writer(sessions), clock=lambda: datetime.now(UTC)
            )
            return Analyst(LanguageModel(config, ledger), book)

        analyst = loop.run_until_complete(build())

        def read(text: str) -> TextAnalysis:
            return loop.run_until_complete(analyst.read(text)).analysis

        return read

    return analyzer_for
