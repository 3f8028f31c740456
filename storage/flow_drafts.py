"""Admins' unpublished flow texts: one draft per flow and author (`storage.flow_tables`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.flow_tables import FlowDraft


async def get_draft(*, session: AsyncSession, flow_id: str, author: str) -> FlowDraft | None:
    """One author's draft of a flow."""
    return await session.get(FlowDraft, (flow_id, author))


async def save_draft(
    *,
    session: AsyncSession,
    flow_id: str,
    author: str,
    source: str,
    base_revision: int | None,
    now: datetime,
) -> FlowDraft:
    """Create or replace an author's draft of a flow (a broken text is kept as it is)."""
    draft = await session.get(FlowDraft, (flow_id, author))
    if draft is None:
        draft = FlowDraft(flow_id=flow_id, author=author, source=source)
    draft.source, draft.base_revision, draft.saved_at = source, base_revision, now
    session.add(draft)
    await session.flush()
    return draft


async def delete_draft(*, session: AsyncSession, flow_id: str, author: str) -> bool:
    """Remove an author's draft; True when there was one."""
    result = await session.exec(
        delete(FlowDraft).where(col(FlowDraft.flow_id) == flow_id, col(FlowDraft.author) == author)
    )
    return bool(result.rowcount)


async def draft_authors(*, session: AsyncSession) -> dict[str, list[str]]:
    """flow id -> the authors holding a draft of it (sorted)."""
    statement = select(FlowDraft.flow_id, FlowDraft.author).order_by(
        col(FlowDraft.flow_id), col(FlowDraft.author)
    )
    found: dict[str, list[str]] = {}
    for flow_id, author in (await session.exec(statement)).all():
        found.setdefault(flow_id, []).append(author)
    return found
