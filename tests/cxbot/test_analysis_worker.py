"""The analysis queue on SQLite and PostgreSQL: open answers are found by the scan (never on
the message path), analyzed by the model or the fallback, stored with the model's name and
prompt version; cases get the model's summary once the interview is over; jobs are shared
by several workers and taken over when a worker's lease runs out; `analyze --since --redo`
re-runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from cxbot.analysis_worker import AnalysisWorker
from cxbot.analyst import Analyst
from cxbot.conversations import ConversationService
from cxbot.llm import PROMPT_VERSION, DatabaseLedger, LanguageModel, ModelConfig
from storage import analysis as queue
from storage.analysis_tables import AnalysisJob, AnswerAnalysis, EscalationSummary
from storage.database import transaction
from storage.models import Answer
from tests.conftest import Clock, Customer
from tests.fakes.openai_api import FakeOpenAI, Fault

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = await FakeOpenAI().start()
    yield server
    await server.stop()


def worker_for(
    service: ConversationService, fake: FakeOpenAI | None, **config: float
) -> AnalysisWorker:
    model = None
    if fake is not None:
        settings = {"timeout_seconds": 2.0, "max_retries": 0, **config}
        model = LanguageModel(
            ModelConfig("fake-model", fake.base_url, fake.api_key, **settings),  # type: ignore[arg-type]
            DatabaseLedger(sessions=service.sessions, writer=service.writer, clock=service.clock),
        )
    return AnalysisWorker(
        sessions=service.sessions,
        writer=service.writer,
        registry=service.registry,
        analyst=Analyst(model),
        clock=service.clock,
    )


async def detractor(customer: Customer, why: str = "快递太慢了，客服态度也差") -> None:
    await customer.starts("nps", language="zh")
    await customer.says("3")
    await customer.says(why)


async def stored(service: ConversationService) -> list[AnswerAnalysis]:
    async with transaction(service.sessions) as session:
        rows = await session.exec(select(AnswerAnalysis).order_by(col(AnswerAnalysis.answer_id)))
        return list(rows.all())


async def jobs(service: ConversationService) -> list[tuple[str, str]]:
    async with transaction(service.sessions) as session:
        rows = await session.exec(select(AnalysisJob).order_by(col(AnalysisJob.id)))
        return [(j.kind, j.state) for j in rows.all()]


async def test_the_message_path_queues_nothing_the_scan_queues_open_answers_only(
    service: ConversationService, customer: Customer, fake: FakeOpenAI
) -> None:
    await detractor(customer)
    assert await jobs(service) == []  # handling the messages added no job
    worker = worker_for(service, fake)
    assert await worker.scan() == 2  # the open answer and the case (not the score)
    assert await worker.scan() == 0  # the cursor moved past them
    assert sorted(await jobs(service)) == [("answer", "pending"), ("summary", "pending")]


async def test_the_model_reads_an_answer_and_the_result_names_model_and_prompt(
    service: ConversationService, customer: Customer, fake: FakeOpenAI
) -> None:
    await detractor(customer)
    worker = worker_for(service, fake)
    await worker.scan()
    await worker.work()
    [analysis] = await stored(service)
    assert analysis.themes == ["delivery", "staff"]
    assert analysis.sentiment == "negative"
    assert (analysis.source, analysis.model, analysis.prompt_version) == (
        "model",
        "fake-model",
        PROMPT_VERSION,
    )
    request = next(
        r for r in fake.requests if r["response_format"]["json_schema"]["name"] == "answer_analysis"
    )
    assert "最让您不满意的是什么" in request["messages"][1]["content"]  # the question, as data


async def test_a_failing_model_falls_back_to_the_offline_analyzer(
    service: ConversationService, customer: Customer, fake: FakeOpenAI
) -> None:
    await detractor(customer)
    fake.faults = [Fault(status=500)]
    worker = worker_for(service, fake)
    await worker.scan()
    await worker.work()
    [analysis] = await stored(service)
    assert (analysis.source, analysis.model) == ("fallback", "fallback")
    assert "delivery" in analysis.themes
    assert analysis.sentiment == "negative"


async def test_without_a_model_answers_are_read_offline_and_no_summary_is_queued(
    service: ConversationService, customer: Customer
) -> None:
    await detractor(customer)
    worker = worker_for(service, None)
    assert await worker.scan() == 1
    await worker.work()
    [analysis] = await stored(service)
    assert analysis.source == "fallback"


async def test_a_summary_waits_for_the_interview_then_is_stored(
    service: ConversationService, customer: Customer, fake: FakeOpenAI, clock: Clock
) -> None:
    await customer.starts("nps", language="zh")
    await customer.says("2")  # escalated now; the reason comes next
    worker = worker_for(service, fake)
    await worker.scan()
    await worker.work()
    assert ("summary", "pending") in await jobs(service)
    assert "escalation_summary" not in fake.schemas()
    await customer.says("客服一直不回复")  # handed off after this
    clock.advance(seconds=30)
    await worker.scan()
    await worker.work()
    async with transaction(service.sessions) as session:
        [summary] = (await session.exec(select(EscalationSummary))).all()
    assert summary.text.startswith("MODEL:") and summary.model == "fake-model"
    request = next(
        r
        for r in fake.requests
        if r["response_format"]["json_schema"]["name"] == "escalation_summary"
    )
    assert "客服一直不回复" in request["messages"][1]["content"]


async def test_a_summary_the_model_cannot_give_is_retried_with_backoff(
    service: ConversationService, customer: Customer, fake: FakeOpenAI, clock: Clock
) -> None:
    await detractor(customer)
    worker = worker_for(service, fake)
    await worker.scan()
    fake.respond = lambda schema, request: (
        {"summary": "see http://x.example.com"}
        if schema == "escalation_summary"
        else {"themes": [], "sentiment": "negative", "vague": True}
    )
    await worker.work()
    async with transaction(service.sessions) as session:
        job = (
            await session.exec(select(AnalysisJob).where(col(AnalysisJob.kind) == "summary"))
        ).one()
    assert job.state == "pending" and job.next_attempt_at > clock()
    assert job.last_error is not None and "link" in job.last_error


async def test_two_workers_share_the_queue_and_a_dead_ones_job_is_taken_over(
    service: ConversationService, customer: Customer, fake: FakeOpenAI, clock: Clock
) -> None:
    await detractor(customer)
    first, second = worker_for(service, fake), worker_for(service, fake)
    await first.scan()
    async with service.writer.transaction() as session:
        [job_id, *_] = await queue.due(session=session, now=clock(), lease=first.lease)
        assert await queue.claim(session=session, job_id=job_id, now=clock(), lease=first.lease)
    # the first worker "dies" holding the job: the second does not take it yet
    await second.work()
    async with transaction(service.sessions) as session:
        held = await session.get(AnalysisJob, job_id)
        assert held is not None and held.state == "working"
    clock.advance(seconds=first.lease.total_seconds() + 1)
    await second.work()
    async with transaction(service.sessions) as session:
        taken = await session.get(AnalysisJob, job_id)
        assert taken is not None and taken.state == "done" and taken.attempts == 2


async def test_analyze_since_redo_reruns_what_was_analyzed(
    service: ConversationService, customer: Customer, fake: FakeOpenAI, clock: Clock
) -> None:
    await detractor(customer)
    offline = worker_for(service, None)
    await offline.scan()
    await offline.work()
    assert [a.source for a in await stored(service)] == ["fallback"]
    with_model = worker_for(service, fake)
    since = clock() - timedelta(days=1)
    assert await with_model.queue_since(since, redo=False) == 1  # only the case's summary
    assert await with_model.queue_since(since, redo=True) >= 1
    while (await with_model.work()).done:
        pass
    assert [a.source for a in await stored(service)] == ["model"]
    async with transaction(service.sessions) as session:
        answers = (await session.exec(select(Answer))).all()
    assert len(answers) == 2  # the score and the reason: one analysis, of the reason


async def test_a_model_configured_later_does_not_summarize_old_cases(
    service: ConversationService, customer: Customer, fake: FakeOpenAI
) -> None:
    await detractor(customer)
    assert await worker_for(service, None).scan() == 1  # the answer; the case is passed over
    later = worker_for(service, fake)
    assert await later.scan() == 0
    assert await jobs(service) == [("answer", "pending")]
