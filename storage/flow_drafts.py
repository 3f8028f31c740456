"""Admins' unpublished flow texts: one draft per flow and author (`storage.flow_tables`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.flow_tables import FlowDraft


@dataclass(frozen=True)
class Drafted:
    """A draft as plain values (usable after its session ended)."""

    flow_id: str
    author: str
    source: str
    base_revision: int | None
    saved_at: datetime

    @classmethod
    def of(cls, row: FlowDraft) -> Drafted:
        """The values of a row."""
        return cls(row.flow_id, row.author, row.source, row.base_revision, row.saved_at)


async def get_draft(*, session: AsyncSession, flow_id: str, author: str) -> Drafted | None:
    """One author's draft of a flow."""
    row = await session.get(FlowDraft, (flow_id, author))
    return None if row is None else Drafted.of(row)


async def save_draft(
    *,
    session: AsyncSession,
    flow_id: str,
    author: str,
    source: str,
    base_revision: int | None,
    now: datetime,
) -> Drafted:
    """Create or replace an author's draft of a flow (a broken text is kept as it is)."""
    draft = await session.get(FlowDraft, (flow_id, author))
    if draft is None:
        draft = FlowDraft(flow_id=flow_id, author=author, source=source)
    draft.source, draft.base_revision, draft.saved_at = source, base_revision, now
    session.add(draft)
    await session.flush()
    return Drafted.of(draft)


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
