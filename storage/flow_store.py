"""Published flow versions: publishing a revision, the current one of every flow, history,
statuses, and the marker every process polls to see that something changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import queries
from storage.flow_tables import FlowPublication, FlowStatus, Origin, Status


@dataclass(frozen=True)
class Published:
    """One publication, as plain values (usable after its session ended)."""

    id: int
    flow_id: str
    revision: int
    version: str
    origin: str
    path: str | None
    author: str | None
    restored_from: int | None
    published_at: datetime

    @classmethod
    def of(cls, row: FlowPublication) -> Published:
        """The values of a row."""
        assert row.id is not None
        return cls(
            id=row.id,
            flow_id=row.flow_id,
            revision=row.revision,
            version=row.version,
            origin=row.origin,
            path=row.path,
            author=row.author,
            restored_from=row.restored_from,
            published_at=row.published_at,
        )


@dataclass(frozen=True)
class Current:
    """A flow's newest publication and its status."""

    publication: Published
    status: Status


Marker = tuple[int, int]
"""(the highest publication id, the number of retired flows): changes with every
publication and every retirement (un-retiring is a publication)."""


async def marker(*, session: AsyncSession) -> Marker:
    """What the pollers compare: one statement, the end of the primary key's index and a
    count over the (few) flows' statuses."""
    top = select(func.max(FlowPublication.id)).scalar_subquery()
    retired = (
        select(func.count())
        .select_from(FlowStatus)
        .where(FlowStatus.status == "retired")
        .scalar_subquery()
    )
    found, count = (await session.exec(select(top, retired))).one()
    return (int(found or 0), int(count or 0))


async def publish(
    *,
    session: AsyncSession,
    flow_id: str,
    version: str,
    source: str,
    origin: Origin,
    now: datetime,
    path: str | None = None,
    author: str | None = None,
    restored_from: int | None = None,
) -> Published:
    """Add the next revision of a flow (its text kept in `flowversion`) and mark the flow
    published. Publishers of a flow queue on its status row (`FOR UPDATE` on PostgreSQL;
    SQLite has one writer anyway); the first publications of a new flow have no row to
    queue on, so one of two racing ones fails with an IntegrityError (the unique
    (flow_id, revision)) — run it again in a new transaction."""
    await session.get(FlowStatus, flow_id, with_for_update=True)
    await queries.save_flow_version(
        session=session, flow_id=flow_id, version=version, source=source
    )
    publication = FlowPublication(
        flow_id=flow_id,
        revision=await next_revision(session=session, flow_id=flow_id),
        version=version,
        origin=origin,
        path=path,
        author=author,
        restored_from=restored_from,
        published_at=now,
    )
    session.add(publication)
    await session.flush()
    await set_status(session=session, flow_id=flow_id, status="published", now=now, by=author)
    return Published.of(publication)


async def next_revision(*, session: AsyncSession, flow_id: str) -> int:
    """The number the next publication of a flow gets (1 for the first)."""
    last = (
        await session.exec(
            select(func.max(FlowPublication.revision)).where(FlowPublication.flow_id == flow_id)
        )
    ).one()
    return int(last or 0) + 1


async def set_status(
    *, session: AsyncSession, flow_id: str, status: Status, now: datetime, by: str | None
) -> bool:
    """Set a flow's status; True when it changed."""
    row = await session.get(FlowStatus, flow_id)
    if row is None:
        session.add(FlowStatus(flow_id=flow_id, status=status, changed_at=now, changed_by=by))
        await session.flush()
        return True
    if row.status == status:
        return False
    row.status, row.changed_at, row.changed_by = status, now, by
    session.add(row)
    await session.flush()
    return True


async def current_all(*, session: AsyncSession) -> dict[str, Current]:
    """Every published or retired flow's newest publication, by flow id."""
    newest = (
        select(FlowPublication.flow_id, func.max(FlowPublication.revision).label("revision"))
        .group_by(col(FlowPublication.flow_id))
        .subquery()
    )
    statement = (
        select(FlowPublication, FlowStatus.status)
        .join(
            newest,
            (col(FlowPublication.flow_id) == newest.c.flow_id)
            & (col(FlowPublication.revision) == newest.c.revision),
        )
        .outerjoin(FlowStatus, col(FlowStatus.flow_id) == col(FlowPublication.flow_id))
        .order_by(col(FlowPublication.flow_id))
    )
    rows = (await session.exec(statement)).all()
    return {
        row.flow_id: Current(Published.of(row), "retired" if status == "retired" else "published")
        for row, status in rows
    }


async def current(*, session: AsyncSession, flow_id: str) -> Current | None:
    """One flow's newest publication and status (None: never published)."""
    publication = (
        await session.exec(
            select(FlowPublication)
            .where(FlowPublication.flow_id == flow_id)
            .order_by(col(FlowPublication.revision).desc())
            .limit(1)
        )
    ).first()
    if publication is None:
        return None
    row = await session.get(FlowStatus, flow_id)
    status: Status = "retired" if row and row.status == "retired" else "published"
    return Current(Published.of(publication), status)


async def history(*, session: AsyncSession, flow_id: str) -> list[Published]:
    """Every publication of a flow, newest first."""
    statement = (
        select(FlowPublication)
        .where(FlowPublication.flow_id == flow_id)
        .order_by(col(FlowPublication.revision).desc())
    )
    return [Published.of(row) for row in (await session.exec(statement)).all()]


async def revision(*, session: AsyncSession, flow_id: str, number: int) -> Published | None:
    """One publication of a flow by its revision number."""
    statement = select(FlowPublication).where(
        FlowPublication.flow_id == flow_id, FlowPublication.revision == number
    )
    row = (await session.exec(statement)).first()
    return None if row is None else Published.of(row)


async def last_from_file(*, session: AsyncSession, flow_id: str) -> Published | None:
    """A flow's newest publication read from a flow file (origin `file`)."""
    statement = (
        select(FlowPublication)
        .where(FlowPublication.flow_id == flow_id, FlowPublication.origin == "file")
        .order_by(col(FlowPublication.revision).desc())
        .limit(1)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else Published.of(row)


async def source_of(*, session: AsyncSession, flow_id: str, version: str) -> str | None:
    """The stored text of any version of a flow (published or only run by conversations)."""
    return await queries.get_flow_source(session=session, flow_id=flow_id, version=version)
