"""The analysis worker: finds new open answers and cases, queues them in the database, and
works the queue — themes and sentiment of each open answer, a summary of each escalated
conversation — off the reply path.

It runs in every `cxbot serve` process (a background task, like the delivery sweeper) and in
`cxbot worker`. Jobs are claimed with a lease, so several processes share the queue and a
killed one's jobs are taken over when the lease runs out; nothing lives only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cxbot.analyst import Analyst
from cxbot.llm import PROMPT_VERSION, ModelUnavailable
from flows.model import OpenStep, Step
from flows.registry import FlowRegistry
from flows.texts import pick
from storage import analysis as queue
from storage import queries, themes
from storage.analysis_tables import AnalysisJob, AnswerAnalysis, EscalationSummary
from storage.database import Sessions, reading
from storage.models import Answer, Conversation, Escalation, Message
from storage.outages import unavailable
from storage.writes import Writer

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
"""How long a claimed job stays with its worker without a model (or the default)."""
SUMMARY_WAIT = timedelta(minutes=3)
"""How long a summary waits for a running interview to finish (the reason comes after the
score that escalated it), at most."""
RETRY = timedelta(seconds=30)
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class Worked:
    """What one pass did."""

    queued: int = 0
    done: int = 0
    failed: int = 0


class AnalysisWorker:
    """See the module docstring."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        writer: Writer,
        registry: FlowRegistry,
        analyst: Analyst,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions, self.writer, self.registry = sessions, writer, registry
        self.analyst, self.clock = analyst, clock
        model = analyst.model
        self.lease = (
            LEASE
            if model is None
            else timedelta(
                seconds=2 + model.config.timeout_seconds * (model.config.max_retries + 1) * 1.5
            )
        )
        """Longer than one job's calls with their retries and backoff: a worker that died
        mid-job lets another take it over after this."""
        self._steps: dict[tuple[str, str, str], Step | None] = {}
        self._flow_themes: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        """Each flow version's own theme words (`themes:` in the flow file)."""

    @property
    def summarizes(self) -> bool:
        """Summaries are the model's; without one the desk shows the extract."""
        return self.analyst.model is not None

    async def step(
        self, session: AsyncSession, flow_id: str, version: str, step_id: str
    ) -> Step | None:
        """The flow step an answer was given to (older versions from their stored text)."""
        key = (flow_id, version, step_id)
        if key not in self._steps:
            loaded = self.registry.version(flow_id, version)
            if loaded is None:
                source = await queries.get_flow_source(
                    session=session, flow_id=flow_id, version=version
                )
                loaded = (
                    None if source is None else self.registry.add_source(flow_id, version, source)
                )
            found = (
                None
                if loaded is None
                else next((s for s in loaded.flow.steps if s.id == step_id), None)
            )
            if loaded is not None:
                self._flow_themes[(flow_id, version)] = loaded.flow.themes
            self._steps[key] = found
        return self._steps[key]

    async def _open_answers(self, session: AsyncSession, refs: list[queue.AnswerRef]) -> list[int]:
        wanted = []
        for ref in refs:
            if isinstance(
                await self.step(session, ref.flow_id, ref.flow_version, ref.step_id), OpenStep
            ):
                wanted.append(ref.answer_id)
        return wanted

    async def scan(self) -> int:
        """Queue the open answers and cases made since the last scan (a read first: the
        write transaction only when there is something new)."""
        now = self.clock()
        async with reading(self.sessions) as session:
            news = await queue.anything_new(session=session, names=tuple(queue.CURSORS))
        if not news:
            return 0
        async with self.writer.transaction() as session:
            ids = await queue.new_ids(session=session, name="analysis-answers", now=now)
            refs = await queue.text_answers(session=session, ids=ids) if ids else []
            queued = await queue.enqueue(
                session=session,
                kind="answer",
                ref_ids=await self._open_answers(session, refs),
                now=now,
            )
            # the cursor moves without a model too: configuring one later does not
            # summarize every case since the upgrade (`cxbot analyze --since` does, on purpose)
            cases = await queue.new_ids(session=session, name="analysis-summaries", now=now)
            if self.summarizes:
                queued += await queue.enqueue(
                    session=session, kind="summary", ref_ids=cases, now=now
                )
        return queued

    async def queue_since(self, since: datetime, *, redo: bool) -> int:
        """Queue every open answer (and, with a model, every case) since `since`; with
        `redo` also those analyzed already."""
        now = self.clock()
        async with self.writer.transaction() as session:
            refs = await queue.text_answers(session=session, since=since, unanalyzed=not redo)
            queued = await queue.enqueue(
                session=session,
                kind="answer",
                ref_ids=await self._open_answers(session, refs),
                now=now,
                redo=redo,
            )
            if self.summarizes:
                cases = await queue.escalations_since(session=session, since=since)
                queued += await queue.enqueue(
                    session=session, kind="summary", ref_ids=cases, now=now, redo=redo
                )
        return queued

    async def work(self, limit: int = 20) -> Worked:
        """Work the jobs that are due now (at most `limit`)."""
        async with reading(self.sessions) as session:
            ids = await queue.due(session=session, now=self.clock(), lease=self.lease, limit=limit)
            if ids:  # the admins' theme words as they are now: edits apply without a restart
                self.analyst.book = await themes.book(session=session, base=self.analyst.base)
        done = failed = 0
        for job_id in ids:
            async with self.writer.transaction() as session:
                job = await queue.claim(
                    session=session, job_id=job_id, now=self.clock(), lease=self.lease
                )
            if job is None:
                continue  # another worker has it
            state = await self._run(job)
            done += state == "done"
            failed += state == "failed"
        return Worked(done=done, failed=failed)

    async def _run(self, job: AnalysisJob) -> str:
        try:
            if job.kind == "answer":
                result: AnswerAnalysis | EscalationSummary | None = await self._read_answer(
                    job.ref_id
                )
            else:
                result = await self._summary(job)
                if result is None:  # the interview is still running: later
                    return await self._finish(
                        job, "pending", retry_at=self.clock() + timedelta(seconds=20), again=True
                    )
        except Exception as exc:
            if unavailable(exc) is not None:
                raise  # the database: the pass stops; the lease hands the job on
            if not isinstance(exc, ModelUnavailable):
                log.exception("analysis job %s (%s) failed", job.id, job.kind)
            # our own words for the model's failures; a bug's message may quote anything
            why = str(exc) if isinstance(exc, ModelUnavailable) else type(exc).__name__
            if job.attempts >= MAX_ATTEMPTS:
                return await self._finish(job, "failed", error=why)
            return await self._finish(
                job,
                "pending",
                error=why,
                retry_at=self.clock() + RETRY * 2 ** (job.attempts - 1),
            )
        return await self._finish(job, "done", result=result)

    async def _finish(
        self,
        job: AnalysisJob,
        state: str,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
        result: AnswerAnalysis | EscalationSummary | None = None,
        again: bool = False,
    ) -> str:
        async with self.writer.transaction() as session:
            if not await queue.finish(
                session=session,
                job=job,
                now=self.clock(),
                state=state,
                error=error,
                retry_at=retry_at,
            ):
                return "lost"  # the lease ran out and another worker took it over
            if again:
                job_row = await session.get(AnalysisJob, job.id)
                if job_row is not None:
                    job_row.attempts = max(0, job_row.attempts - 1)  # waiting is not trying
            if isinstance(result, AnswerAnalysis):
                await queue.save_analysis(session=session, analysis=result)
            elif isinstance(result, EscalationSummary):
                await queue.save_summary(session=session, summary=result)
        return state

    async def _read_answer(self, answer_id: int) -> AnswerAnalysis | None:
        async with reading(self.sessions) as session:
            answer = await session.get(Answer, answer_id)
            if answer is None or not answer.text:
                return None
            conversation = await session.get(Conversation, answer.conversation_id)
            assert conversation is not None
            step = await self.step(
                session, answer.flow_id, conversation.flow_version, answer.step_id
            )
            scored = await session.exec(
                select(Answer.score)
                .where(
                    col(Answer.conversation_id) == answer.conversation_id,
                    col(Answer.score).is_not(None),
                )
                .order_by(col(Answer.id))
                .limit(1)
            )
            score = scored.first()
            text, language = answer.text, answer.language  # read before the snapshot ends
            flow_key = (answer.flow_id, conversation.flow_version)
        question = "" if step is None else pick(step.text, language, language)
        book = self.analyst.book
        own = self._flow_themes.get(flow_key)
        if own:  # the flow's own words on top (an entry that does not fit: logged, left out)
            book = themes.book_with(book, own)
        found = await self.analyst.read(text, question=question, score=score, book=book)
        return AnswerAnalysis(
            answer_id=answer_id,
            themes=list(found.analysis.themes),
            sentiment=found.analysis.sentiment,
            vague=found.analysis.vague,
            source=found.source,
            model=found.model,
            prompt_version=found.prompt_version,
            analyzed_at=self.clock(),
        )

    async def _summary(self, job: AnalysisJob) -> EscalationSummary | None:
        async with reading(self.sessions) as session:
            escalation = await session.get(Escalation, job.ref_id)
            if escalation is None:
                raise ModelUnavailable("no such escalation")
            conversation = await session.get(Conversation, escalation.conversation_id)
            assert conversation is not None
            if (
                conversation.status == "active"
                and self.clock() - escalation.created_at < SUMMARY_WAIT
            ):
                return None
            messages = await session.exec(
                select(Message)
                .where(col(Message.conversation_id) == conversation.id)
                .order_by(col(Message.id))
                .limit(60)
            )
            lines = [
                f"{'customer' if m.direction == 'in' else m.author}: {m.text}"
                for m in messages.all()
                if m.text
            ]
            language = conversation.language  # read before the snapshot ends
        text = await self.analyst.summarize(lines, language)
        model = self.analyst.model
        assert model is not None
        return EscalationSummary(
            escalation_id=job.ref_id,
            text=text,
            source="model",
            model=model.name,
            prompt_version=PROMPT_VERSION,
            created_at=self.clock(),
        )

    async def run(self, every: float, stop: asyncio.Event) -> None:
        """Scan and work every `every` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                await self.scan()
                while (await self.work()).done:
                    if stop.is_set():
                        return
            except Exception as exc:
                reason = unavailable(exc)
                if reason is not None:
                    log.warning("analysis skipped: database unavailable (%s)", reason)
                else:
                    log.exception("analysis pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
