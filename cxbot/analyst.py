"""Reading answers with the model when one is configured, and with the offline analyzer
(`flows.analysis`) otherwise or whenever the model fails: the one place that chooses.

Every result says where it came from (`model` and the model's name, or `fallback`) and the
prompt version, so `cxbot analyze --redo` can tell what to re-run and the pages can say it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from cxbot.llm import PROMPT_VERSION, LanguageModel, ModelUnavailable
from flows.analysis import TextAnalysis, ThemeBook, analyze, default_book

log = logging.getLogger(__name__)

FALLBACK = "fallback"
FALLBACK_VERSION = "offline-1"
"""The fallback's version, stored like a prompt version."""


@dataclass(frozen=True)
class Reading:
    """What one answer says, and who read it."""

    analysis: TextAnalysis
    source: str
    """`model` or `fallback`."""
    model: str
    prompt_version: str


class Analyst:
    """Themes, sentiment, vagueness and summaries: model first, fallback always."""

    def __init__(self, model: LanguageModel | None, book: ThemeBook | None = None) -> None:
        self.model = model
        self.base = book or default_book()
        """The default themes and CXBOT_THEMES_FILE's."""
        self.book = self.base
        """`base` with the admins' words from the database (the worker refreshes it per
        batch: `storage.themes.book`)."""

    def offline(self, text: str, book: ThemeBook | None = None) -> Reading:
        """The offline analyzer's reading (deterministic; no I/O)."""
        return Reading(analyze(text, book or self.book), FALLBACK, FALLBACK, FALLBACK_VERSION)

    async def read(
        self,
        text: str,
        *,
        question: str = "",
        score: int | None = None,
        book: ThemeBook | None = None,
    ) -> Reading:
        """The model's reading of an answer, else the fallback's (the offline analyzer runs in
        a thread: a few milliseconds per answer, a second to load its dictionary once);
        `book`: this answer's themes (a flow's own words), else the analyst's."""
        book = book or self.book
        if self.model is None:
            return await asyncio.to_thread(self.offline, text, book)
        labels = {t.key: f"{t.label_zh} / {t.label_en}" for t in book.themes}
        try:
            verdict = await self.model.analyze(
                answer=text, question=question, score=score, themes=labels
            )
        except ModelUnavailable as exc:
            log.info("answer read offline: %s", exc)
            return await asyncio.to_thread(self.offline, text, book)
        order = {key: i for i, key in enumerate(book.keys())}
        themes = tuple(sorted(set(verdict.themes), key=order.__getitem__))
        return Reading(
            TextAnalysis(themes=themes, sentiment=verdict.sentiment, vague=verdict.vague),
            "model",
            self.model.name,
            PROMPT_VERSION,
        )

    async def summarize(self, conversation: Sequence[str], language: str) -> str:
        """The model's 1-3 line summary; raises `ModelUnavailable` without a usable one (the
        desk then shows the extract of score and key answers)."""
        if self.model is None:
            raise ModelUnavailable("no model configured")
        return await self.model.summarize(conversation=conversation, language=language)
