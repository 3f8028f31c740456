"""`/api/v1/conversations[/{id}]` and `/api/v1/answers.csv`: the transcripts as JSON and the
answers as CSV, with the list's filters (admin/transcript_filters.py).

A router factory: the app passes the sessions and the guard (`access.api_role("agent")`:
transcripts hold what customers wrote, so viewers, who see dashboards only, get a 403).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import StreamingResponse

from admin.answers_csv import BATCH, answers_csv
from admin.snippets import snippet
from admin.transcript_filters import ListQuery, list_query
from storage.conversation_list import MAX_ID, ListedConversation, band_of, list_conversations
from storage.database import Sessions, reading
from storage.models import Answer, Conversation
from storage.transcripts import Transcript, load_transcript

Query = Annotated[ListQuery, Depends(list_query)]
ConversationId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    """A conversation's own fields."""
    c = conversation
    return {
        "id": c.id,
        "flow_id": c.flow_id,
        "flow_version": c.flow_version,
        "channel": c.channel,
        "language": c.language,
        "status": c.status,
        "touchpoint": c.touchpoint,
        "journey_stage": c.journey_stage,
        "started_at": _time(c.started_at),
        "ended_at": _time(c.ended_at),
    }


def score_json(answer: Answer) -> dict[str, Any]:
    """A metric answer with its band."""
    return {
        "metric": answer.metric,
        "score": answer.score,
        "scale_low": answer.scale_low,
        "scale_high": answer.scale_high,
        "band": band_of(answer.metric, answer.score, answer.scale_low, answer.scale_high),
        "step_id": answer.step_id,
    }


def listed_json(row: ListedConversation, query: str | None) -> dict[str, Any]:
    """One row of the list; `snippet` (with `highlights`, [start, end) offsets) when searching."""
    item = conversation_json(row.conversation)
    item["scores"] = [score_json(a) for a in row.scores]
    item["escalated"] = row.escalated
    if query:
        parts = snippet(row.texts, query)
        text, highlights, at = "", [], 0
        for piece, marked in parts:
            if marked:
                highlights.append([at, at + len(piece)])
            text += piece
            at += len(piece)
        item["snippet"] = {"text": text, "highlights": highlights}
    return item


def transcript_json(found: Transcript) -> dict[str, Any]:
    """Everything about one conversation."""
    return {
        "conversation": conversation_json(found.conversation),
        "customer": None
        if found.customer is None
        else {
            "id": found.customer.id,
            "channel": found.customer.channel,
            "display_name": found.customer.display_name,
            "language": found.customer.language,
        },
        "messages": [
            {
                "id": m.id,
                "direction": m.direction,
                "author": m.author,
                "text": m.text,
                "delivery_state": m.delivery_state,
                "created_at": _time(m.created_at),
            }
            for m in found.messages
        ],
        "answers": [
            {
                "id": a.id,
                "step_id": a.step_id,
                "variable": a.variable,
                "text": a.text,
                "created_at": _time(a.created_at),
                **({"score": score_json(a)} if a.score is not None else {}),
            }
            for a in found.answers
        ],
        "metrics": [score_json(a) for a in found.answers if a.score is not None],
        "events": [
            {"id": e.id, "name": e.name, "data": e.data, "created_at": _time(e.created_at)}
            for e in found.events
        ],
        "escalations": [
            {
                "id": e.id,
                "reason": e.reason,
                "priority": e.priority,
                "status": e.status,
                "due_at": _time(e.due_at),
                "created_at": _time(e.created_at),
                "resolved_at": _time(e.resolved_at),
                "outcome": e.outcome,
            }
            for e in found.escalations
        ],
    }


def api_router(
    sessions: Sessions, *, agent: Callable[..., Any], csv_batch: int = BATCH
) -> APIRouter:
    """The transcripts API, every route behind `agent` (`csv_batch`: answers per CSV chunk)."""
    api = APIRouter(prefix="/api/v1", tags=["transcripts"], dependencies=[Depends(agent)])

    @api.get("/conversations")
    async def conversations(query: Query) -> dict[str, Any]:
        """Conversations, newest first, filtered; `next_cursor` fetches the older ones."""
        async with reading(sessions) as session:
            page = await list_conversations(
                session=session, filters=query.filters, cursor=query.cursor, limit=query.limit
            )
            return {  # inside: the read's rollback expires the rows
                "items": [listed_json(row, query.filters.text) for row in page.items],
                "next_cursor": str(page.next_cursor) if page.next_cursor else None,
                "prev_cursor": str(page.prev_cursor) if page.prev_cursor else None,
            }

    @api.get("/conversations/{conversation_id}")
    async def conversation(conversation_id: ConversationId) -> dict[str, Any]:
        """One conversation: messages, answers, metrics, events, escalations."""
        async with reading(sessions) as session:
            found = await load_transcript(session=session, conversation_id=conversation_id)
            if found is None:
                raise HTTPException(status_code=404, detail="no such conversation")
            return transcript_json(found)

    @api.get("/answers.csv")
    async def answers(query: Query) -> StreamingResponse:
        """The answers of the filtered conversations as CSV (UTF-8 with BOM), streamed."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return StreamingResponse(
            answers_csv(sessions, query.filters, batch=csv_batch),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="answers-{stamp}.csv"',
                "Cache-Control": "no-store",
            },
        )

    return api
