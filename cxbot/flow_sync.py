"""Keeping this process's live flows equal to the published ones.

- Flow files (loaded at start and on change, as before) are published as new revisions
  with origin `file` when their text differs from their last file publication; a file
  removed from a configured folder retires its flow if the file's version is the current
  one (a newer publication from the editor is left alone).
- `apply` makes the newest publication of every flow the one new interviews start with and
  withdraws retired flows. A poll (`flow_poll_seconds`) compares a two-number marker (the
  highest publication id, the number of retired flows) and reads the publications only when
  it moved; the publishing process applies at once. Nothing is read per message: the
  conversation service asks the in-memory registry, as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from cxbot.flow_publishing import Publisher
from flows.loader import FlowError, FlowLoadError, LoadedFlow, load_text
from flows.registry import FlowRegistry
from storage import flow_store
from storage.database import Sessions, reading
from storage.flow_store import Current, Marker
from storage.outages import unavailable

log = logging.getLogger(__name__)


def file_path(loaded: LoadedFlow) -> str:
    """The absolute path a file's flow is published with (processes may differ in their
    working directory)."""
    return os.path.abspath(loaded.file)


class FlowSync:
    """Publishes changed flow files and applies the publications to a registry."""

    def __init__(self, *, sessions: Sessions, publisher: Publisher, registry: FlowRegistry):
        self.sessions = sessions
        self.publisher = publisher
        self.registry = registry
        self._applied: Marker | None = None
        self._published_files: dict[str, tuple[str, str]] | None = None
        self._lock = asyncio.Lock()
        self.applied_count = 0
        """How many times the publications were read and applied (the polls that found
        nothing new are not counted)."""

    async def start(self) -> list[FlowError]:
        """At start-up: load the files, publish those that changed, make the newest
        publications live; the errors of broken files. With the database unavailable the
        files' versions run until it answers (the poll then publishes and applies)."""
        errors = await self.registry.refresh_async()
        try:
            await self.publish_files()
            await self.apply(force=True)
        except Exception as exc:
            reason = unavailable(exc)
            if reason is None:
                raise
            log.warning(
                "published flows not read: database unavailable (%s); running the flow "
                "files until it answers",
                reason,
            )
            self._published_files = None
            for flow_id, loaded in self.registry.file_flows().items():
                if self.registry.current(flow_id) is None:
                    self.registry.go_live(loaded)
        return errors

    async def refresh_files(self) -> list[FlowError]:
        """Reload changed files and publish those whose text changed (live here at once;
        an unchanged folder costs no query)."""
        errors = await self.registry.refresh_async()
        if await self.publish_files():
            await self.apply()
        return errors

    async def publish_files(self) -> bool:
        """Publish the files' versions that changed since their last file publication, and
        retire the flows whose current version came from a file that is gone; False when
        the files are as they were at the last call (nothing is read then)."""
        files = self.registry.file_flows()
        seen = {flow_id: (loaded.version, file_path(loaded)) for flow_id, loaded in files.items()}
        if seen == self._published_files:
            return False
        for loaded in files.values():
            await self.publisher.publish_file(loaded, file_path(loaded))
        await self._retire_vanished(set(files))
        self._published_files = seen
        return True

    async def _retire_vanished(self, present: set[str]) -> None:
        async with reading(self.sessions) as session:
            currents = await flow_store.current_all(session=session)
        for flow_id, found in currents.items():
            publication = found.publication
            if (
                found.status == "published"
                and flow_id not in present
                and publication.origin == "file"
                and publication.path is not None
                and self._configured(Path(publication.path))
                and not await asyncio.to_thread(os.path.exists, publication.path)
            ):
                await self._retire_if_current(flow_id, publication.id)

    async def _retire_if_current(self, flow_id: str, publication_id: int | None) -> None:
        async with self.publisher.writer.transaction() as session:
            found = await flow_store.current(session=session, flow_id=flow_id)
            if found is None or found.publication.id != publication_id:
                return  # published again meanwhile
            await flow_store.set_status(
                session=session,
                flow_id=flow_id,
                status="retired",
                now=self.publisher.clock(),
                by=None,
            )
        log.info("flow %s retired: its file %s was removed", flow_id, found.publication.path)

    def _configured(self, path: Path) -> bool:
        """Whether a file is one this process loads flows from (a folder's entry or a
        configured file)."""
        for configured in self.registry.paths:
            absolute = Path(os.path.abspath(configured))
            if path == absolute or path.parent == absolute:
                return True
        return False

    async def apply(self, *, force: bool = False) -> bool:
        """Make the published versions live here when the marker moved (or `force`);
        True when the publications were read."""
        async with self._lock:
            async with reading(self.sessions) as session:
                marker = await flow_store.marker(session=session)
                if marker == self._applied and not force:
                    return False
                currents = await flow_store.current_all(session=session)
                texts = await self._missing_texts(session, currents)
            for flow_id, found in currents.items():
                await self._apply_one(flow_id, found, texts)
            self._applied = marker
            self.applied_count += 1
            return True

    async def _missing_texts(
        self, session: AsyncSession, currents: dict[str, Current]
    ) -> dict[tuple[str, str], str]:
        texts: dict[tuple[str, str], str] = {}
        for flow_id, found in currents.items():
            version = found.publication.version
            if found.status == "published" and self.registry.version(flow_id, version) is None:
                source = await flow_store.source_of(
                    session=session,
                    flow_id=flow_id,
                    version=version,
                )
                if source is not None:
                    texts[(flow_id, version)] = source
        return texts

    async def _apply_one(
        self, flow_id: str, found: Current, texts: dict[tuple[str, str], str]
    ) -> None:
        if found.status == "retired":
            if self.registry.current(flow_id) is not None:
                self.registry.withdraw(flow_id)
                log.info("flow %s retired", flow_id)
            return
        version = found.publication.version
        live = self.registry.current(flow_id)
        if live is not None and live.version == version:
            return
        loaded = self.registry.version(flow_id, version)
        if loaded is None:
            source = texts.get((flow_id, version))
            if source is None:
                log.error("flow %s version %s is published but not stored", flow_id, version)
                return
            try:
                loaded = await asyncio.to_thread(
                    load_text, source, file=f"<{flow_id} revision {found.publication.revision}>"
                )
            except FlowLoadError as exc:  # e.g. a stricter flow language after an upgrade
                revision = found.publication.revision
                log.error("flow %s revision %d no longer loads: %s", flow_id, revision, exc)
                self._fall_back_to_file(flow_id)
                return
        self.registry.go_live(loaded)
        log.info(
            "flow %s revision %d (version %s) is live",
            flow_id,
            found.publication.revision,
            version,
        )

    def _fall_back_to_file(self, flow_id: str) -> None:
        """With no usable publication, a flow still running on nothing gets its file's
        version, if it has a file (a running version is kept)."""
        loaded = self.registry.file_flows().get(flow_id)
        if self.registry.current(flow_id) is None and loaded is not None:
            self.registry.go_live(loaded)
            log.warning("flow %s: running the version in %s instead", flow_id, loaded.file)

    async def poll(self, seconds: float) -> None:
        """Apply new publications every `seconds`, until cancelled."""
        while True:
            await asyncio.sleep(seconds)
            await self.poll_once()

    async def poll_once(self) -> None:
        """One round of the poll: apply new publications (and, when the database was down
        at start-up, publish the files first); an outage is one log line."""
        try:
            if self._published_files is None:
                await self.publish_files()
            await self.apply()
        except Exception as exc:
            reason = unavailable(exc)
            if reason is None:
                log.exception("reading the published flows failed")
            else:
                log.warning("flow poll skipped: database unavailable (%s)", reason)
