"""Putting language intelligence into a process: the model (when configured) with its
database ledger, the analyst that falls back to the offline analyzer, and the analysis worker
— run by the app from start-up to shutdown (unless `CXBOT_ANALYSIS_IN_APP=false`) and by
`cxbot worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from admin import insights_page, themes_page
from cxbot.analysis_worker import AnalysisWorker
from cxbot.analyst import Analyst
from cxbot.analyze_text import book_from_file
from cxbot.llm import DatabaseLedger, LanguageModel, ModelConfig
from cxbot.probes import Prober
from cxbot.runtime import Runtime
from cxbot.settings import Settings
from flows.analysis import ThemeBook, ThemeBookError, default_book, is_vague
from flows.registry import FlowRegistry
from flows.safe_yaml import YamlError
from storage.database import Sessions
from storage.writes import Writer

log = logging.getLogger(__name__)


@dataclass
class Intelligence:
    """The model (None: offline), the analyst and the worker of one process."""

    model: LanguageModel | None
    analyst: Analyst
    worker: AnalysisWorker

    async def aclose(self) -> None:
        if self.model is not None:
            await self.model.aclose()


def build(
    settings: Settings,
    *,
    sessions: Sessions,
    writer: Writer,
    registry: FlowRegistry,
    clock: Callable[[], datetime],
) -> Intelligence:
    """The model from the settings (or none), the analyst and the worker."""
    config = ModelConfig.from_settings(settings)
    model = (
        None
        if config is None
        else LanguageModel(config, DatabaseLedger(sessions=sessions, writer=writer, clock=clock))
    )
    analyst = Analyst(model, theme_book(settings.themes_file))
    worker = AnalysisWorker(
        sessions=sessions, writer=writer, registry=registry, analyst=analyst, clock=clock
    )
    return Intelligence(model, analyst, worker)


def theme_book(path: Path | None) -> ThemeBook:
    """The default themes, extended by an admin's file (a broken one: logged, not used)."""
    if path is None:
        return default_book()
    try:
        return book_from_file(path)
    except (OSError, YamlError, ThemeBookError) as exc:
        log.error("CXBOT_THEMES_FILE %s not used: %s", path, exc)
        return default_book()


async def _warm() -> None:
    """Load the offline analyzer's dictionary in a thread."""
    await asyncio.to_thread(is_vague, "")


def describe(intelligence: Intelligence) -> str:
    """One log line: which model, or the fallback."""
    model = intelligence.model
    if model is None:
        return "language model: none (CXBOT_LLM_MODEL unset); the offline analyzer answers"
    where = model.config.base_url or "OpenAI"
    return f"language model: {model.name} at {where}; the offline analyzer when it fails"


def install(app: FastAPI, runtime: Runtime) -> Intelligence:
    """Build it for the app and, unless turned off, work the queue in the background."""
    settings = runtime.settings
    service = runtime.service
    intelligence = build(
        settings,
        sessions=service.sessions,
        writer=service.writer,
        registry=runtime.registry,
        clock=service.clock,
    )
    app.state.intelligence = intelligence
    book = intelligence.analyst.base
    app.include_router(
        themes_page.router(service.sessions, writer=service.writer, clock=service.clock, book=book)
    )
    app.include_router(
        insights_page.router(
            service.sessions,
            clock=service.clock,
            book=book,
            model=insights_page.ModelInfo(
                intelligence.model.name if intelligence.model else None,
                settings.llm_daily_tokens,
            ),
        )
    )
    if intelligence.model is not None:
        service.prober = Prober(
            model=intelligence.model, writer=service.writer, seconds=settings.llm_probe_seconds
        )
    stop = asyncio.Event()
    running: list[asyncio.Task[None]] = []

    async def start() -> None:
        log.info("%s", describe(intelligence))
        # the analyzer's dictionary loads once (about a second): in a thread, not on the
        # first vague-answer check of a customer's message
        running.append(asyncio.create_task(_warm()))
        if settings.analysis_in_app:
            running.append(
                asyncio.create_task(intelligence.worker.run(settings.analysis_poll_seconds, stop))
            )

    async def shutdown() -> None:
        stop.set()
        for task in running:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=5)
        await intelligence.aclose()

    runtime.on_startup.append(start)
    runtime.on_shutdown.append(shutdown)
    return intelligence
