"""The conversation list: filters, full-text search over what customers wrote, and keyset
pagination (newest first), so page 1000 of a million conversations costs what page 1 does.

Order: by conversation id, descending. Ids are handed out as conversations start, so this is
"most recently started first"; unlike `started_at` it is unique, which makes a cursor exact:
rows that arrive while someone pages show up on page 1 and never shift the later pages (no
duplicate, no gap).

Search (see storage/terms.py for the terms) reads the `search_term` index: the query's rarest
term drives the walk down its (term, conversation_id) primary key in the page's order; every
other term is a primary-key probe (EXISTS) per candidate. No `LIKE '%…%'` scan anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, func, literal, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, Conversation
from storage.terms import query_terms

TABLES = SQLModel.metadata.tables
CONVERSATION, ANSWER, MESSAGE = TABLES["conversation"], TABLES["answer"], TABLES["message"]
ESCALATION, SEARCH = TABLES["escalation"], TABLES["search_term"]

Band = Literal["detractor", "passive", "promoter", "low", "mid", "high"]
BANDS: tuple[Band, ...] = ("detractor", "passive", "promoter", "low", "mid", "high")
NPS_BANDS = {"detractor": "low", "passive": "mid", "promoter": "high"}
"""The NPS names of the three bands; `low`/`mid`/`high` apply to every metric."""
COUNT_CAP = 1_000
"""Term frequencies are counted up to this (enough to pick the rarest term)."""
MAX_ID = 2**31 - 1
"""The largest id an INTEGER column holds (PostgreSQL refuses to compare with more)."""
_CURSOR = re.compile(r"^([ab])([1-9][0-9]{0,9})$")


@dataclass(frozen=True)
class ConversationFilters:
    """What the list, the API and the CSV export filter on (None: no filter)."""

    since: datetime | None = None
    """Started at or after."""
    until: datetime | None = None
    """Started before."""
    flow: str | None = None
    channel: str | None = None
    status: str | None = None
    language: str | None = None
    metric: str | None = None
    """Has an answer on this metric (nps, csat, ces)."""
    band: Band | None = None
    """Has a score in this band (of `metric` when given; detractor… are NPS only)."""
    escalated: bool | None = None
    text: str | None = None
    """Words the customer wrote (all terms must be found)."""


@dataclass(frozen=True)
class Cursor:
    """A page boundary: the rows older (`b`efore) or newer (`a`fter) than a conversation."""

    direction: Literal["a", "b"]
    id: int

    def __str__(self) -> str:
        return f"{self.direction}{self.id}"

    @classmethod
    def parse(cls, value: str) -> Cursor:
        """The cursor written by `str()`; ValueError for anything else."""
        found = _CURSOR.match(value)
        if found is None or int(found[2]) > MAX_ID:
            raise ValueError("not a cursor")
        return cls("a" if found[1] == "a" else "b", int(found[2]))


@dataclass(frozen=True)
class ListedConversation:
    """One row of the list."""

    conversation: Conversation
    scores: tuple[Answer, ...]
    """Its metric answers, in order."""
    escalated: bool
    texts: tuple[str, ...] = ()
    """What the customer wrote (only when searching: the snippet is cut from it)."""


@dataclass(frozen=True)
class ConversationPage:
    items: tuple[ListedConversation, ...]
    next_cursor: Cursor | None
    """Older rows, if any."""
    prev_cursor: Cursor | None
    """Newer rows, if the page did not start at the newest."""
    terms: tuple[str, ...] = field(default=())


async def rows_of(session: AsyncSession, statement: Any) -> list[Any]:
    """The rows of a Core select (tuples)."""
    return list((await session.exec(statement)).all())


async def scalars_of(session: AsyncSession, statement: Any) -> list[Any]:
    """The first column of every row (an entity for `select(Model)`)."""
    return list((await session.exec(statement)).scalars().all())


def band_of(metric: str | None, score: int | None, low: int | None, high: int | None) -> str:
    """low, mid or high for a score (NPS: 0–6, 7–8, 9–10; others: below, at, above the
    middle of the scale, e.g. CSAT 1–2 / 3 / 4–5, CES-7 1–3 / 4 / 5–7); '' without one."""
    if score is None:
        return ""
    if metric == "nps":
        return "low" if score <= 6 else "mid" if score <= 8 else "high"
    if low is None or high is None:
        return ""
    twice = 2 * score
    return "low" if twice < low + high else "mid" if twice == low + high else "high"


def _band_condition(band: Band, a: Any) -> ColumnElement[bool]:
    level = NPS_BANDS.get(band, band)
    score, nps = a.score, a.metric == "nps"
    middle = a.scale_low + a.scale_high
    if level == "low":
        on_nps, on_other = score <= 6, 2 * score < middle
    elif level == "mid":
        on_nps, on_other = score.between(7, 8), 2 * score == middle
    else:
        on_nps, on_other = score >= 9, 2 * score > middle
    if band in NPS_BANDS:
        return and_(nps, on_nps)
    return or_(and_(nps, on_nps), and_(not_(nps), on_other))


def filter_conditions(filters: ConversationFilters) -> list[ColumnElement[bool]]:
    """The WHERE conditions on `conversation` for everything but the search text."""
    c, a = CONVERSATION.c, ANSWER.alias("scored").c  # an alias: the export reads `answer`
    found: list[ColumnElement[bool]] = []
    if filters.since is not None:
        found.append(c.started_at >= filters.since)
    if filters.until is not None:
        found.append(c.started_at < filters.until)
    for column, value in (
        (c.flow_id, filters.flow),
        (c.channel, filters.channel),
        (c.status, filters.status),
        (c.language, filters.language),
    ):
        if value is not None:
            found.append(column == value)
    if filters.metric is not None or filters.band is not None:
        answer = [a.conversation_id == c.id, a.score.is_not(None)]
        if filters.metric is not None:
            answer.append(a.metric == filters.metric)
        if filters.band is not None:
            answer.append(_band_condition(filters.band, a))
        found.append(exists().where(*answer))
    if filters.escalated is not None:
        raised = exists().where(ESCALATION.c.conversation_id == c.id)
        found.append(raised if filters.escalated else not_(raised))
    return found


def search_conditions(terms: Sequence[str]) -> list[ColumnElement[bool]]:
    """Conditions that a conversation holds every term (a primary-key probe each)."""
    probes: list[ColumnElement[bool]] = []
    for term in terms:
        index = SEARCH.alias()
        probes.append(
            exists().where(index.c.term == term, index.c.conversation_id == CONVERSATION.c.id)
        )
    return probes


async def _rarest_first(session: AsyncSession, terms: Sequence[str]) -> list[tuple[int, str]]:
    """(count up to COUNT_CAP, term) for each term, rarest first, in one statement."""
    counts = [
        select(func.count())
        .select_from(select(literal(1)).where(SEARCH.c.term == term).limit(COUNT_CAP).subquery())
        .scalar_subquery()
        for term in terms
    ]
    [row] = await rows_of(session, select(*counts))
    return sorted(zip((int(n) for n in row), terms, strict=True))


async def list_conversations(
    *,
    session: AsyncSession,
    filters: ConversationFilters,
    cursor: Cursor | None = None,
    limit: int = 50,
) -> ConversationPage:
    """One page of conversations, newest first, with their scores and escalation flag."""
    terms = query_terms(filters.text or "")
    if filters.text and filters.text.strip() and not terms:
        return ConversationPage((), None, None, terms)  # only punctuation: nothing matches
    statement: Any = select(Conversation)
    key: Any = CONVERSATION.c.id
    if terms:
        counts = await _rarest_first(session, terms)
        if counts[0][0] == 0:
            return ConversationPage((), None, None, terms)
        driver = SEARCH.alias("driver")
        key = driver.c.conversation_id
        statement = (
            select(Conversation)
            .select_from(driver)
            .join(CONVERSATION, CONVERSATION.c.id == driver.c.conversation_id)
            .where(driver.c.term == counts[0][1], *search_conditions([t for _, t in counts[1:]]))
        )
    statement = statement.where(*filter_conditions(filters))
    newer = cursor is not None and cursor.direction == "a"
    if cursor is not None:
        statement = statement.where(key > cursor.id if newer else key < cursor.id)
    statement = statement.order_by(key.asc() if newer else key.desc()).limit(limit + 1)
    rows: list[Conversation] = await scalars_of(session, statement)
    more = len(rows) > limit
    rows = rows[:limit]
    if newer:
        rows.reverse()
    ids = [row.id for row in rows if row.id is not None]
    items = await _listed(session, rows, texts=bool(terms))
    older = more if not newer else bool(ids)
    return ConversationPage(
        items,
        Cursor("b", ids[-1]) if ids and older else None,
        Cursor("a", ids[0]) if ids and (cursor is not None and (more or not newer)) else None,
        terms,
    )


async def _listed(
    session: AsyncSession, rows: Sequence[Conversation], *, texts: bool
) -> tuple[ListedConversation, ...]:
    """The page's rows with their scores, escalation flags and (searching) customer texts."""
    ids = [row.id for row in rows if row.id is not None]
    if not ids:
        return ()
    a, m, e = ANSWER.c, MESSAGE.c, ESCALATION.c
    scores: dict[int, list[Answer]] = {}
    written: dict[int, list[str]] = {}
    if texts:  # what the customer wrote, messages first (open answers repeat most of them)
        said = (
            select(m.conversation_id, m.text)
            .where(m.conversation_id.in_(ids), m.direction == "in", m.author == "customer")
            .order_by(m.id)
        )
        for ref, body in await rows_of(session, said):
            written.setdefault(ref, []).append(body)
    for answer in await scalars_of(
        session, select(Answer).where(a.conversation_id.in_(ids)).order_by(a.id)
    ):
        if answer.score is not None:
            scores.setdefault(answer.conversation_id, []).append(answer)
        elif texts and answer.text and answer.text not in written.get(answer.conversation_id, []):
            written.setdefault(answer.conversation_id, []).append(answer.text)
    raised = select(e.conversation_id).where(e.conversation_id.in_(ids)).distinct()
    escalated = set(await scalars_of(session, raised))
    return tuple(
        ListedConversation(
            row,
            tuple(scores.get(row.id or 0, ())),
            (row.id or 0) in escalated,
            tuple(written.get(row.id or 0, ())),
        )
        for row in rows
    )
