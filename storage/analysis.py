"""The analysis queue and its results: which answers and cases await the worker, claiming a
job with a lease, and storing themes, sentiment and summaries.

Nothing here runs on the message path: new answers and cases are found by a scan past an id
cursor (`new_ids`), made by the worker every few seconds, so handling a customer's message
costs nothing more. Ids are increasing but on PostgreSQL not committed in order, so the ids
skipped over are kept as holes and looked for again for a while (as `storage/signals.py`
does for events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.analysis_tables import AnalysisJob, AnswerAnalysis, EscalationSummary
from storage.loop_tables import EventCursor
from storage.models import Answer, Conversation, Escalation, Message

MAX_HOLES = 1000
HOLE_LIFE = timedelta(minutes=10)
"""How long an id skipped over is looked for (longer than any transaction lasts)."""
CURSORS: dict[str, Any] = {"analysis-answers": Answer.id, "analysis-summaries": Escalation.id}


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@dataclass(frozen=True)
class AnswerRef:
    """An answer that may be open text: what the worker needs to tell (its flow step)."""

    answer_id: int
    flow_id: str
    flow_version: str
    step_id: str


async def anything_new(*, session: AsyncSession, names: Sequence[str]) -> bool:
    """Whether a scan would find something: a row past a cursor, a hole to look for, or a
    cursor not made yet (a read; two index look-ups per cursor)."""
    for name in names:
        cursor = await session.get(EventCursor, name)
        if cursor is None or cursor.holes:
            return True
        newest = (await session.exec(select(func.max(col(CURSORS[name]))))).one()
        if newest is not None and int(newest) > cursor.last_id:
            return True
    return False


async def new_ids(
    *, session: AsyncSession, name: str, now: datetime, limit: int = 500
) -> list[int]:
    """Ids of answers (`analysis-answers`) or escalations (`analysis-summaries`) made since
    the last scan, oldest first; the cursor (locked for this transaction) moves past them."""
    id_column = col(CURSORS[name])
    if await session.get(EventCursor, name) is None:
        newest = (await session.exec(select(func.coalesce(func.max(id_column), 0)))).one()
        await session.exec(
            _insert(session, EventCursor)
            .values(name=name, last_id=int(newest or 0), holes={}, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
    cursor = (
        await session.exec(
            select(EventCursor).where(col(EventCursor.name) == name).with_for_update()
        )
    ).one()
    await session.refresh(cursor)
    holes = {int(k): v for k, v in (cursor.holes or {}).items()}
    ids = [
        i
        for i in (
            await session.exec(
                select(id_column).where(id_column > cursor.last_id).order_by(id_column).limit(limit)
            )
        ).all()
        if i is not None
    ]
    found = (
        [i for i in (await session.exec(select(id_column).where(id_column.in_(holes)))).all() if i]
        if holes
        else []
    )
    last = cursor.last_id
    for found_id in ids:
        for missing in range(last + 1, min(found_id, last + 1 + MAX_HOLES)):
            holes[missing] = now.isoformat()
        last = found_id
    for found_id in found:
        holes.pop(found_id, None)
    kept = {
        str(k): v
        for k, v in sorted(holes.items())[-MAX_HOLES:]
        if datetime.fromisoformat(v) > now - HOLE_LIFE
    }
    if cursor.last_id != last or cursor.holes != kept:
        cursor.last_id, cursor.holes, cursor.updated_at = last, kept, now
    return [*found, *ids]


async def text_answers(
    *,
    session: AsyncSession,
    ids: Sequence[int] | None = None,
    since: datetime | None = None,
    unanalyzed: bool = False,
) -> list[AnswerRef]:
    """Answers with text and no score among `ids` (or made since `since`): open answers and
    choices; the caller tells which by the flow step."""
    statement = (
        select(Answer.id, Answer.flow_id, Conversation.flow_version, Answer.step_id)
        .join(Conversation, col(Conversation.id) == col(Answer.conversation_id))
        .where(col(Answer.text).is_not(None), col(Answer.metric).is_(None))
        .order_by(col(Answer.id))
    )
    if ids is not None:
        statement = statement.where(col(Answer.id).in_(list(ids)))
    if since is not None:
        statement = statement.where(col(Answer.created_at) >= since)
    if unanalyzed:
        statement = statement.where(col(Answer.id).not_in(select(AnswerAnalysis.answer_id)))
    rows = await session.exec(statement)
    return [AnswerRef(int(a or 0), f, v, s) for a, f, v, s in rows.all()]


async def escalations_since(*, session: AsyncSession, since: datetime) -> list[int]:
    """Ids of escalations opened since `since`."""
    rows = await session.exec(
        select(Escalation.id)
        .where(col(Escalation.created_at) >= since)
        .order_by(col(Escalation.id))
    )
    return [i for i in rows.all() if i is not None]


async def enqueue(
    *, session: AsyncSession, kind: str, ref_ids: Sequence[int], now: datetime, redo: bool = False
) -> int:
    """Queue work on each ref (a no-op for refs queued already, unless `redo`: then a
    finished job is queued again). How many jobs were queued."""
    queued = 0
    for ref_id in ref_ids:
        result = await session.exec(
            _insert(session, AnalysisJob)
            .values(
                kind=kind,
                ref_id=ref_id,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["kind", "ref_id"])
        )
        queued += bool(result.rowcount)
    if redo and ref_ids:
        again = await session.exec(
            update(AnalysisJob)
            .where(
                col(AnalysisJob.kind) == kind,
                col(AnalysisJob.ref_id).in_(list(ref_ids)),
                col(AnalysisJob.state).in_(("done", "failed")),
            )
            .values(state="pending", attempts=0, next_attempt_at=now, done_at=None)
        )
        queued += int(again.rowcount or 0)
    return queued


def _claimable(now: datetime, lease: timedelta) -> Any:
    return or_(
        and_(col(AnalysisJob.state) == "pending", col(AnalysisJob.next_attempt_at) <= now),
        and_(col(AnalysisJob.state) == "working", col(AnalysisJob.claimed_at) < now - lease),
    )


async def due(
    *, session: AsyncSession, now: datetime, lease: timedelta, limit: int = 20
) -> list[int]:
    """Ids of jobs that may be worked now, oldest first."""
    rows = await session.exec(
        select(AnalysisJob.id)
        .where(_claimable(now, lease))
        .order_by(col(AnalysisJob.next_attempt_at), col(AnalysisJob.id))
        .limit(limit)
    )
    return [i for i in rows.all() if i is not None]


async def claim(
    *, session: AsyncSession, job_id: int, now: datetime, lease: timedelta
) -> AnalysisJob | None:
    """Take one job for this worker (a conditional UPDATE: one taker wins), or None."""
    result = await session.exec(
        update(AnalysisJob)
        .where(col(AnalysisJob.id) == job_id, _claimable(now, lease))
        .values(state="working", claimed_at=now, attempts=col(AnalysisJob.attempts) + 1)
    )
    if not result.rowcount:
        return None
    found = await session.exec(
        select(AnalysisJob)
        .where(col(AnalysisJob.id) == job_id)
        .execution_options(populate_existing=True)
    )
    return found.one()


async def finish(
    *,
    session: AsyncSession,
    job: AnalysisJob,
    now: datetime,
    state: str,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> bool:
    """Record the attempt: `done`, `failed`, or `pending` again until `retry_at`. False when
    the claim was lost (another worker took the job over)."""
    assert job.id is not None
    values: dict[str, Any] = {"state": state, "last_error": None if error is None else error[:200]}
    if state in ("done", "failed"):
        values["done_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    result = await session.exec(
        update(AnalysisJob)
        .where(
            col(AnalysisJob.id) == job.id,
            col(AnalysisJob.state) == "working",
            col(AnalysisJob.claimed_at) == job.claimed_at,
        )
        .values(**values)
    )
    return bool(result.rowcount)


async def counts(*, session: AsyncSession) -> dict[str, int]:
    """Jobs per state."""
    rows = await session.exec(
        select(AnalysisJob.state, func.count()).group_by(col(AnalysisJob.state))
    )
    return {state: int(n) for state, n in rows.all()}


async def save_analysis(*, session: AsyncSession, analysis: AnswerAnalysis) -> None:
    """Store (or replace) an answer's themes and sentiment."""
    await session.exec(
        delete(AnswerAnalysis).where(col(AnswerAnalysis.answer_id) == analysis.answer_id)
    )
    session.add(analysis)


async def analyses_of(
    *, session: AsyncSession, answer_ids: Sequence[int]
) -> dict[int, AnswerAnalysis]:
    """The stored analyses of some answers."""
    if not answer_ids:
        return {}
    rows = await session.exec(
        select(AnswerAnalysis).where(col(AnswerAnalysis.answer_id).in_(list(answer_ids)))
    )
    return {a.answer_id: a for a in rows.all()}


async def save_summary(*, session: AsyncSession, summary: EscalationSummary) -> None:
    """Store (or replace) an escalation's summary."""
    await session.exec(
        delete(EscalationSummary).where(
            col(EscalationSummary.escalation_id) == summary.escalation_id
        )
    )
    session.add(summary)


async def summaries_of(
    *, session: AsyncSession, escalation_ids: Sequence[int]
) -> dict[int, EscalationSummary]:
    """The stored summaries of some escalations."""
    if not escalation_ids:
        return {}
    rows = await session.exec(
        select(EscalationSummary).where(
            col(EscalationSummary.escalation_id).in_(list(escalation_ids))
        )
    )
    return {s.escalation_id: s for s in rows.all()}


async def reword_probe(*, session: AsyncSession, message_id: int, fallback: str, text: str) -> bool:
    """Replace a stored follow-up's static text with the generated one (only while it still
    reads `fallback`). False when it changed meanwhile."""
    result = await session.exec(
        update(Message)
        .where(col(Message.id) == message_id, col(Message.text) == fallback)
        .values(text=text)
    )
    return bool(result.rowcount)
