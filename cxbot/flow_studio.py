"""The flow studio service: reading, drafting and publishing flows for the admin pages and
`/api/v1/flows` (it satisfies `admin.flow_studio.FlowStudio`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.flow_studio import (
    Draft,
    FlowDetail,
    FlowInvalid,
    FlowMissing,
    FlowSummary,
    Revision,
)
from cxbot.flow_publishing import Publication, Publisher
from cxbot.flow_sync import FlowSync
from flows.loader import LoadedFlow
from flows.registry import FlowRegistry
from flows.validation import Validation, validate
from storage import flow_counts, flow_drafts, flow_store
from storage.database import Sessions, reading
from storage.flow_counts import FlowCounts
from storage.flow_drafts import Drafted
from storage.flow_store import Current, Published
from storage.flow_tables import Origin

FLOW_ID = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
"""The flow language's id pattern (`flows.model.Flow.id`)."""
WEEK_DAYS = 7
"""The list's counts cover this many UTC days, today included."""


def as_revision(publication: Published) -> Revision:
    """A publication row as the pages and the API show it."""
    return Revision(
        flow_id=publication.flow_id,
        revision=publication.revision,
        version=publication.version,
        origin=publication.origin,
        path=publication.path,
        author=publication.author,
        restored_from=publication.restored_from,
        published_at=publication.published_at,
    )


class Studio:
    """Reads publications and drafts; publishes through the `Publisher`, then applies at
    once in this process (`FlowSync.apply`)."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        registry: FlowRegistry,
        publisher: Publisher,
        sync: FlowSync,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.publisher = publisher
        self.sync = sync
        self.clock = clock

    # reading

    async def list_flows(self) -> list[FlowSummary]:
        """Every flow: published, retired, and those only drafted."""
        async with reading(self.sessions) as session:
            currents = await flow_store.current_all(session=session)
            drafts = await flow_drafts.draft_authors(session=session)
            counts = await flow_counts.counts_since(session=session, first_day=self._first_day())
            draft_only = {
                flow_id: await self._any_draft(session, flow_id, authors[0])
                for flow_id, authors in drafts.items()
                if flow_id not in currents
            }
            texts = await self._texts(session, currents)
        summaries = []
        for flow_id in sorted(set(currents) | set(draft_only)):
            found = currents.get(flow_id)
            loaded = await self._loaded(flow_id, found, texts, draft_only.get(flow_id))
            summaries.append(self._summary(flow_id, found, loaded, drafts.get(flow_id, []), counts))
        return summaries

    async def flow(self, flow_id: str) -> FlowDetail:
        """One flow: its summary, current text and history."""
        async with reading(self.sessions) as session:
            found = await flow_store.current(session=session, flow_id=flow_id)
            history = await flow_store.history(session=session, flow_id=flow_id)
            authors = (await flow_drafts.draft_authors(session=session)).get(flow_id, [])
            counts = await flow_counts.counts_since(session=session, first_day=self._first_day())
            texts = await self._texts(session, {flow_id: found} if found else {})
            draft = await self._any_draft(session, flow_id, authors[0]) if authors else None
        if found is None and not authors:
            raise FlowMissing("no-flow", f"no flow '{flow_id}'")
        loaded = await self._loaded(flow_id, found, texts, draft)
        source = None
        if found is not None:
            source = texts.get((flow_id, found.publication.version))
            source = loaded.source if source is None and loaded is not None else source
        return FlowDetail(
            summary=self._summary(flow_id, found, loaded, authors, counts),
            source=source,
            history=tuple(as_revision(p) for p in history),
        )

    async def revision(self, flow_id: str, number: int) -> tuple[Revision, str]:
        """One revision and its text."""
        async with reading(self.sessions) as session:
            found = await flow_store.revision(session=session, flow_id=flow_id, number=number)
            source = (
                None
                if found is None
                else await flow_store.source_of(
                    session=session, flow_id=flow_id, version=found.version
                )
            )
        if found is None or source is None:
            raise FlowMissing("no-revision", f"flow '{flow_id}' has no revision {number}")
        return as_revision(found), source

    async def version_source(self, flow_id: str, version: str) -> str:
        """The text of any stored version of a flow."""
        async with reading(self.sessions) as session:
            source = await flow_store.source_of(session=session, flow_id=flow_id, version=version)
        if source is None:
            raise FlowMissing("no-version", f"flow '{flow_id}' has no version {version}")
        return source

    async def validate(self, source: str, *, flow_id: str | None = None) -> Validation:
        """Check a text in a worker thread (a big flow takes milliseconds to parse)."""
        return await asyncio.to_thread(validate, source, flow_id=flow_id)

    # drafts

    async def draft(self, flow_id: str, author: str) -> Draft:
        """The author's draft, with its problems."""
        async with reading(self.sessions) as session:
            found = await flow_drafts.get_draft(session=session, flow_id=flow_id, author=author)
        if found is None:
            raise FlowMissing("no-draft", f"you have no draft of flow '{flow_id}'")
        return await self._draft(found)

    async def save_draft(
        self, flow_id: str, author: str, source: str, base_revision: int | None
    ) -> Draft:
        """Keep the author's draft, broken or not."""
        self._check_id(flow_id)
        async with self.publisher.writer.transaction() as session:
            saved = await flow_drafts.save_draft(
                session=session,
                flow_id=flow_id,
                author=author,
                source=source,
                base_revision=base_revision,
                now=self.clock(),
            )
        return await self._draft(saved)

    async def discard_draft(self, flow_id: str, author: str) -> None:
        """Remove the author's draft."""
        async with self.publisher.writer.transaction() as session:
            removed = await flow_drafts.delete_draft(
                session=session, flow_id=flow_id, author=author
            )
        if not removed:
            raise FlowMissing("no-draft", f"you have no draft of flow '{flow_id}'")

    # publishing

    async def publish(
        self,
        flow_id: str,
        *,
        author: str | None,
        source: str | None = None,
        expected_revision: int | None = None,
        origin: Origin = "editor",
        path: str | None = None,
    ) -> Revision:
        """Publish `source` or the author's draft as the next revision; live here at once
        (`origin` and `path`: for `cxbot flows publish`)."""
        self._check_id(flow_id)
        from_draft = source is None
        if source is None:
            if author is None:
                raise FlowMissing("no-draft", "publish a text or a draft")
            source = (await self.draft(flow_id, author)).source
        loaded = await self._valid(source, flow_id)
        publication = await self.publisher.publish(
            loaded,
            Publication(origin=origin, path=path, author=author),
            expected_revision=expected_revision,
            discard_draft_of=author if from_draft else None,
        )
        await self.sync.apply(force=True)
        return as_revision(publication)

    async def restore(
        self, flow_id: str, number: int, *, author: str | None, origin: Origin = "editor"
    ) -> Revision:
        """Publish an older revision's text as a new revision."""
        _, source = await self.revision(flow_id, number)
        loaded = await self._valid(source, flow_id)
        publication = await self.publisher.publish(
            loaded, Publication(origin=origin, author=author, restored_from=number)
        )
        await self.sync.apply(force=True)
        return as_revision(publication)

    async def retire(self, flow_id: str, *, author: str | None) -> FlowSummary:
        """Stop a flow starting new interviews; publishing it again brings it back."""
        async with self.publisher.writer.transaction() as session:
            found = await flow_store.current(session=session, flow_id=flow_id)
            if found is None:
                raise FlowMissing("no-flow", f"no published flow '{flow_id}'")
            await flow_store.set_status(
                session=session, flow_id=flow_id, status="retired", now=self.clock(), by=author
            )
        await self.sync.apply(force=True)
        return (await self.flow(flow_id)).summary

    # helpers

    def _first_day(self) -> date:
        return (self.clock().astimezone(UTC) - timedelta(days=WEEK_DAYS - 1)).date()

    @staticmethod
    def _check_id(flow_id: str) -> None:
        if not FLOW_ID.fullmatch(flow_id):
            raise FlowInvalid(
                "bad-id", "a flow id is lower-case letters, digits, _ and -, starting a letter"
            )

    async def _valid(self, source: str, flow_id: str) -> LoadedFlow:
        validation = await self.validate(source, flow_id=flow_id)
        if validation.loaded is None:
            raise FlowInvalid(
                "invalid", "the flow has errors; nothing was published", validation.problems
            )
        return validation.loaded

    async def _draft(self, row: Drafted) -> Draft:
        validation = await self.validate(row.source, flow_id=row.flow_id)
        return Draft(
            flow_id=row.flow_id,
            author=row.author,
            source=row.source,
            base_revision=row.base_revision,
            saved_at=row.saved_at,
            problems=validation.problems,
        )

    @staticmethod
    async def _any_draft(session: AsyncSession, flow_id: str, author: str) -> str | None:
        found = await flow_drafts.get_draft(
            session=session,
            flow_id=flow_id,
            author=author,
        )
        return None if found is None else found.source

    async def _texts(
        self, session: AsyncSession, currents: dict[str, Current]
    ) -> dict[tuple[str, str], str]:
        """The texts of current versions this process has not parsed yet."""
        texts: dict[tuple[str, str], str] = {}
        for flow_id, found in currents.items():
            version = found.publication.version
            known = self.registry.version(flow_id, version)
            if known is not None:
                texts[(flow_id, version)] = known.source
                continue
            source = await flow_store.source_of(
                session=session,
                flow_id=flow_id,
                version=version,
            )
            if source is not None:
                texts[(flow_id, version)] = source
        return texts

    async def _loaded(
        self,
        flow_id: str,
        found: Current | None,
        texts: dict[tuple[str, str], str],
        draft: str | None,
    ) -> LoadedFlow | None:
        """The flow behind a summary: its current version (parsed once, then kept in the
        registry as a known version), else a draft that parses."""
        if found is not None:
            version = found.publication.version
            known = self.registry.version(flow_id, version)
            if known is not None:
                return known
            source = texts.get((flow_id, version))
            if source is None:
                return None
            validation = await self.validate(source)
            if validation.loaded is not None:
                self.registry.add(validation.loaded, current=False)
            return validation.loaded
        if draft is not None:
            return (await self.validate(draft, flow_id=flow_id)).loaded
        return None

    def _summary(
        self,
        flow_id: str,
        found: Current | None,
        loaded: LoadedFlow | None,
        authors: list[str],
        counts: dict[str, FlowCounts],
    ) -> FlowSummary:
        live = self.registry.current(flow_id)
        count = counts.get(flow_id, FlowCounts(0, 0))
        flow = loaded.flow if loaded is not None else None
        return FlowSummary(
            id=flow_id,
            name=flow.name if flow is not None else flow_id,
            status=found.status if found is not None else "draft",
            current=as_revision(found.publication) if found is not None else None,
            live_version=live.version if live is not None else None,
            keywords=tuple(flow.start.keywords) if flow is not None else (),
            commands=tuple(flow.start.commands) if flow is not None else (),
            api=flow.start.api if flow is not None else False,
            drafts=tuple(authors),
            started_week=count.started,
            completed_week=count.completed,
            completion_rate=round(count.completed / count.started, 4) if count.started else None,
        )
