"""`/admin/conversations` (the list: filters, search, pages, CSV button) and
`/admin/conversations/{id}` (the chat as a chat, answers, metrics, events, escalations).

A router factory: the app passes the sessions, the page guard (`access.page_role("agent")`)
and where the flow ids for the filter come from. Customer text reaches the templates as
plain strings (autoescaped); the snippet as (text, is_match) parts, each escaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from starlette.responses import Response

from admin.rendering import render
from admin.snippets import Parts, snippet
from admin.transcript_filters import STATUSES, ListQuery, list_query
from storage.conversation_list import BANDS, MAX_ID, ListedConversation, band_of, list_conversations
from storage.database import Sessions, reading
from storage.models import Answer
from storage.transcripts import Transcript, load_transcript

CHANNELS = ("web", "telegram", "wechat", "cli")
"""The channels offered in the filter (any other can still be typed into the URL)."""
Query = Annotated[ListQuery, Depends(list_query)]


def shown_time(value: datetime | None) -> str:
    """`2026-03-02 09:00` (UTC, as stored)."""
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def score_label(answer: Answer) -> str:
    """`NPS 9`, `CSAT 4/5`."""
    metric = (answer.metric or "").upper()
    if answer.metric == "nps" or answer.scale_high is None:
        return f"{metric} {answer.score}"
    return f"{metric} {answer.score}/{answer.scale_high}"


@dataclass(frozen=True)
class Row:
    """One line of the list as the template shows it."""

    id: int
    started: str
    flow: str
    channel: str
    language: str
    status: str
    scores: tuple[tuple[str, str], ...]
    """(label, band) per metric answer."""
    escalated: bool
    snippet: Parts


@dataclass(frozen=True)
class ListPage:
    """The list page's context."""

    rows: tuple[Row, ...]
    query: ListQuery
    newer: str | None
    older: str | None
    csv: str
    flows: Sequence[str]
    channels: Sequence[str]
    statuses: Sequence[str]
    bands: Sequence[str]


def _row(item: ListedConversation, text: str | None) -> Row:
    c = item.conversation
    return Row(
        id=c.id or 0,
        started=shown_time(c.started_at),
        flow=c.flow_id,
        channel=c.channel,
        language=c.language,
        status=c.status,
        scores=tuple(
            (score_label(a), band_of(a.metric, a.score, a.scale_low, a.scale_high))
            for a in item.scores
        ),
        escalated=item.escalated,
        snippet=snippet(item.texts, text) if text else (),
    )


def pages_router(
    sessions: Sessions,
    *,
    agent: Callable[..., Any],
    flow_ids: Callable[[], Sequence[str]] = lambda: (),
) -> APIRouter:
    """The two transcript pages, behind `agent`."""
    pages = APIRouter(  # HTML pages: not in /openapi.json
        prefix="/admin/conversations", dependencies=[Depends(agent)], include_in_schema=False
    )

    @pages.get("")
    async def conversations(request: Request, query: Query) -> Response:
        """The list with its filters."""
        async with reading(sessions) as session:
            page = await list_conversations(
                session=session, filters=query.filters, cursor=query.cursor, limit=query.limit
            )
            rows = tuple(_row(item, query.filters.text) for item in page.items)
        context = ListPage(
            rows=rows,
            query=query,
            newer=query.link(cursor=str(page.prev_cursor)) if page.prev_cursor else None,
            older=query.link(cursor=str(page.next_cursor)) if page.next_cursor else None,
            csv="/api/v1/answers.csv" + query.link(),
            flows=sorted({*flow_ids(), *(r.flow for r in rows)}),
            channels=CHANNELS,
            statuses=STATUSES,
            bands=BANDS,
        )
        return render(request, "conversations.html", {"page": context})

    @pages.get("/{conversation_id}")
    async def conversation(
        request: Request, conversation_id: Annotated[int, Path(ge=1, le=MAX_ID)]
    ) -> Response:
        """One conversation."""
        async with reading(sessions) as session:
            found = await load_transcript(session=session, conversation_id=conversation_id)
            if found is None:
                raise HTTPException(status_code=404, detail="no such conversation")
            return render(request, "conversation.html", detail_context(found))

    return pages


def detail_context(found: Transcript) -> dict[str, Any]:
    """What conversation.html shows (times as text, scores with their bands)."""
    return {
        "c": found.conversation,
        "customer": found.customer,
        "messages": found.messages,
        "answers": found.answers,
        "scores": [
            (score_label(a), band_of(a.metric, a.score, a.scale_low, a.scale_high), a)
            for a in found.answers
            if a.score is not None
        ],
        "events": [
            (e, json.dumps(e.data, ensure_ascii=False, sort_keys=True) if e.data else "")
            for e in found.events
        ],
        "escalations": found.escalations,
        "shown_time": shown_time,
    }
