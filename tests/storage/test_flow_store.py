"""Published flow versions on SQLite and PostgreSQL: revisions numbered per flow, files that
do not override newer publications, and publishers racing for the same revision number."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from cxbot.flow_publishing import Publication, Publisher
from flows.loader import LoadedFlow, load_text
from flows.registry import BUILTIN_DIR
from storage import flow_drafts, flow_store
from storage.database import Sessions, create_engine, create_sessions, reading
from storage.writes import Writer
from tests.conftest import START, Clock

pytestmark = pytest.mark.backends("sqlite", "postgresql")

NPS = (BUILTIN_DIR / "nps.yaml").read_text(encoding="utf-8")


def nps(wording: str = "") -> LoadedFlow:
    """The shipped NPS flow, its first question changed by `wording` (a new version)."""
    return load_text(NPS.replace("您好！", f"您好{wording}！"))


@pytest.fixture
def publisher(sessions: Sessions, clock: Clock) -> Publisher:
    return Publisher(Writer(sessions), clock)


async def test_revisions_count_per_flow_and_the_newest_is_current(
    publisher: Publisher, sessions: Sessions
) -> None:
    first = await publisher.publish(nps(), Publication(origin="file", path="/flows/nps.yaml"))
    second = await publisher.publish(nps("A"), Publication(origin="editor", author="ann"))
    other = await publisher.publish(
        load_text(NPS.replace("id: nps", "id: nps2")), Publication("cli")
    )
    assert (first.revision, second.revision, other.revision) == (1, 2, 1)
    assert second.id > first.id and second.author == "ann" and first.path == "/flows/nps.yaml"
    async with reading(sessions) as session:
        current = await flow_store.current_all(session=session)
        history = await flow_store.history(session=session, flow_id="nps")
        text = await flow_store.source_of(session=session, flow_id="nps", version=first.version)
    assert current["nps"].publication == second and current["nps"].status == "published"
    assert [p.revision for p in history] == [2, 1]
    assert text == NPS


async def test_restoring_publishes_the_old_text_as_a_new_revision(
    publisher: Publisher, sessions: Sessions
) -> None:
    first = await publisher.publish(nps(), Publication("editor", author="ann"))
    await publisher.publish(nps("B"), Publication("editor", author="ann"))
    back = await publisher.publish(nps(), Publication("editor", author="bo", restored_from=1))
    assert (back.revision, back.version, back.restored_from) == (3, first.version, 1)


async def test_the_marker_moves_with_publications_and_retirements(
    publisher: Publisher, sessions: Sessions, clock: Clock
) -> None:
    async def marker() -> flow_store.Marker:
        async with reading(sessions) as session:
            return await flow_store.marker(session=session)

    assert await marker() == (0, 0)
    published = await publisher.publish(nps(), Publication("editor"))
    assert await marker() == (published.id, 0)
    async with publisher.writer.transaction() as session:
        assert await flow_store.set_status(
            session=session, flow_id="nps", status="retired", now=clock(), by="ann"
        )
    assert await marker() == (published.id, 1)
    again = await publisher.publish(nps(), Publication("editor"))  # publishing un-retires
    assert await marker() == (again.id, 0)


async def test_an_unchanged_file_does_not_override_a_newer_publication(
    publisher: Publisher, sessions: Sessions
) -> None:
    path = "/srv/flows/nps.yaml"
    assert (await publisher.publish_file(nps(), path)) is not None  # first start: revision 1
    assert await publisher.publish_file(nps(), path) is None  # a restart: nothing new
    await publisher.publish(nps("E"), Publication("editor", author="ann"))
    assert await publisher.publish_file(nps(), path) is None  # restart: the editor's stays
    changed = await publisher.publish_file(nps("F"), path)  # the file was edited: it wins
    assert changed is not None and (changed.revision, changed.origin) == (3, "file")
    assert await publisher.publish_file(nps("F"), path) is None


async def test_drafts_are_kept_per_author(sessions: Sessions, clock: Clock) -> None:
    writer = Writer(sessions)
    async with writer.transaction() as session:
        for author, text in (("ann", "id: [broken"), ("bo", NPS)):
            await flow_drafts.save_draft(
                session=session,
                flow_id="nps",
                author=author,
                source=text,
                base_revision=None,
                now=clock(),
            )
        await flow_drafts.save_draft(
            session=session,
            flow_id="nps",
            author="ann",
            source="id: nps2",
            base_revision=4,
            now=clock(),
        )
    async with reading(sessions) as session:
        ann = await flow_drafts.get_draft(session=session, flow_id="nps", author="ann")
        authors = await flow_drafts.draft_authors(session=session)
    assert ann is not None and (ann.source, ann.base_revision) == ("id: nps2", 4)
    assert authors == {"nps": ["ann", "bo"]}
    async with writer.transaction() as session:
        assert await flow_drafts.delete_draft(session=session, flow_id="nps", author="ann")
        assert not await flow_drafts.delete_draft(session=session, flow_id="nps", author="ann")


@pytest.fixture
async def second_engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """Another engine on the same database: another server process's connections."""
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


async def test_publishers_racing_get_a_revision_each(
    sessions: Sessions, second_engine: AsyncEngine, clock: Clock
) -> None:
    """Two "processes" (engines) publish 8 versions each at once: 16 revisions, none lost;
    they queue on the flow's status row, so none of them has to run again."""
    one = Publisher(Writer(sessions), clock)
    two = Publisher(Writer(create_sessions(second_engine)), clock)
    await one.publish(nps(), Publication("file"))
    jobs = [
        publisher.publish(nps(f"{name}{i}"), Publication("editor", author=name))
        for i in range(8)
        for publisher, name in ((one, "ann"), (two, "bo"))
    ]
    published = await asyncio.gather(*jobs)
    assert sorted(p.revision for p in published) == list(range(2, 18))
    async with reading(sessions) as session:
        history = await flow_store.history(session=session, flow_id="nps")
    assert {p.version for p in history[:16]} == {p.version for p in published}
    assert one.conflicts + two.conflicts == 0


@pytest.mark.backends("postgresql")  # SQLite's BEGIN IMMEDIATE: one writer reads at a time
async def test_a_publisher_that_lost_the_race_for_a_number_publishes_the_next(
    sessions: Sessions,
    second_engine: AsyncEngine,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first publications of a new flow (no status row to queue on yet): both read the
    same next revision before either inserts (a barrier after the read); the unique
    (flow_id, revision) refuses the second, which runs again."""
    counted = 0
    both_counted = asyncio.Event()
    real = flow_store.next_revision

    async def next_revision_after_both(*, session: AsyncSession, flow_id: str) -> int:
        nonlocal counted
        number = await real(session=session, flow_id=flow_id)
        counted += 1
        if counted <= 2:
            if counted == 2:
                both_counted.set()
            await asyncio.wait_for(both_counted.wait(), timeout=5)
        return number

    monkeypatch.setattr(flow_store, "next_revision", next_revision_after_both)
    one = Publisher(Writer(sessions), clock)
    two = Publisher(Writer(create_sessions(second_engine)), clock)
    published = await asyncio.gather(
        one.publish(nps("X"), Publication("editor", author="ann")),
        two.publish(nps("Y"), Publication("editor", author="bo")),
    )
    assert sorted(p.revision for p in published) == [1, 2]
    assert one.conflicts + two.conflicts == 1
    assert counted == 3  # the loser counted again


async def test_publication_times_are_the_clock_s(publisher: Publisher) -> None:
    published = await publisher.publish(nps(), Publication("editor"))
    assert published.published_at == START
