"""What the insights page reads: the analyzed open answers of a period with the NPS score of
their interview, and the answers behind one theme.

Themes are a JSON list per answer, which SQLite and PostgreSQL query differently; so the
rows of the period (at most `LIMIT`, newest first) are read once and counted in
`admin/insights.py`. A period's analyzed answers are a few thousand, not millions: the
score tallies stay on the dashboard's trigger-kept tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import and_, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.analysis_tables import AnswerAnalysis
from storage.models import Answer

FILTERS: dict[str, Any] = {
    "flow": Answer.flow_id,
    "touchpoint": Answer.touchpoint,
    "journey_stage": Answer.journey_stage,
    "channel": Answer.channel,
    "language": Answer.language,
}
"""The filters the page offers, as on the dashboard, and the answer's column for each."""
LIMIT = 20_000
"""The most analyzed answers one page counts (the newest of the period)."""


@dataclass(frozen=True)
class AnalyzedAnswer:
    """One open answer with its reading and its interview's NPS score (if it had one)."""

    answer_id: int
    conversation_id: int
    text: str
    language: str
    created_at: datetime
    themes: tuple[str, ...]
    sentiment: str
    vague: bool
    source: str
    nps: int | None


async def analyzed(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    filters: Mapping[str, str] | None = None,
    theme: str | None = None,
    limit: int = LIMIT,
) -> list[AnalyzedAnswer]:
    """The analyzed open answers made in [since, until), newest first, matching `filters`
    (flow, touchpoint, journey_stage, channel, language); those citing `theme` only, when
    given (applied to the rows read)."""
    nps = aliased(Answer)
    statement = (
        select(Answer, AnswerAnalysis, nps.score)
        .join(AnswerAnalysis, col(AnswerAnalysis.answer_id) == col(Answer.id))
        .outerjoin(
            nps,
            and_(col(nps.conversation_id) == col(Answer.conversation_id), col(nps.metric) == "nps"),
        )
        .where(col(Answer.created_at) >= since, col(Answer.created_at) < until)
        .order_by(col(Answer.created_at).desc(), col(Answer.id).desc())
        .limit(limit)
    )
    for name, value in (filters or {}).items():
        statement = statement.where(col(FILTERS[name]) == value)
    rows = await session.exec(statement)
    found: list[AnalyzedAnswer] = []
    seen: set[int] = set()
    for answer, analysis, score in rows.all():
        if answer.id in seen:  # an interview with two NPS answers: count the answer once
            continue
        seen.add(answer.id or 0)
        themes = tuple(analysis.themes or ())
        if theme is not None and theme not in themes:
            continue
        found.append(
            AnalyzedAnswer(
                answer_id=answer.id or 0,
                conversation_id=answer.conversation_id,
                text=answer.text or "",
                language=answer.language,
                created_at=answer.created_at,
                themes=themes,
                sentiment=analysis.sentiment,
                vague=analysis.vague,
                source=analysis.source,
                nps=score,
            )
        )
    return found
