"""Publishing a flow version as its next revision: one transaction per attempt, run again
when a concurrent publisher took the same revision number (the unique (flow_id, revision)
refused it), so two admins publishing at once get two revisions, never a lost update."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from admin.flow_studio import FlowConflict
from flows.loader import LoadedFlow
from storage import flow_drafts, flow_store
from storage.flow_store import Published
from storage.flow_tables import Origin
from storage.writes import Writer

log = logging.getLogger(__name__)

ATTEMPTS = 10
"""Each conflict means another publisher committed; this many in a row is a bug."""


@dataclass(frozen=True)
class Publication:
    """Where a version comes from and who publishes it."""

    origin: Origin
    path: str | None = None
    author: str | None = None
    restored_from: int | None = None


class Publisher:
    """Adds revisions; counts the conflicts it retried (`conflicts`)."""

    def __init__(self, writer: Writer, clock: Callable[[], datetime]) -> None:
        self.writer = writer
        self.clock = clock
        self.conflicts = 0
        """Attempts that lost the race for a revision number and ran again."""

    async def publish(
        self,
        loaded: LoadedFlow,
        how: Publication,
        *,
        expected_revision: int | None = None,
        discard_draft_of: str | None = None,
    ) -> Published:
        """Publish `loaded` as its flow's next revision. `expected_revision` (0: none yet)
        refuses with FlowConflict when someone published since; `discard_draft_of` removes
        that author's draft in the same transaction."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.writer.transaction() as session:
                    if expected_revision is not None:
                        found = await flow_store.current(session=session, flow_id=loaded.flow.id)
                        now_at = found.publication.revision if found else 0
                        if now_at != expected_revision:
                            raise FlowConflict(
                                "conflict",
                                f"revision {now_at} was published since revision "
                                f"{expected_revision}; look at it and publish again",
                            )
                    publication = await flow_store.publish(
                        session=session,
                        flow_id=loaded.flow.id,
                        version=loaded.version,
                        source=loaded.source,
                        origin=how.origin,
                        now=self.clock(),
                        path=how.path,
                        author=how.author,
                        restored_from=how.restored_from,
                    )
                    if discard_draft_of is not None:
                        await flow_drafts.delete_draft(
                            session=session, flow_id=loaded.flow.id, author=discard_draft_of
                        )
            except IntegrityError:
                if attempt == ATTEMPTS:
                    raise
                self.conflicts += 1
                log.info("flow %s: another publisher took the revision; again", loaded.flow.id)
                continue
            log.info(
                "flow %s revision %d (version %s) published from %s",
                publication.flow_id,
                publication.revision,
                publication.version,
                how.origin,
            )
            return publication
        raise AssertionError("unreachable")  # pragma: no cover

    async def publish_file(self, loaded: LoadedFlow, path: str) -> Published | None:
        """Publish a flow file's version unless it is already current or is the text of
        the flow's last file publication (an unchanged file does not override a newer
        publication from the editor); None when nothing was published."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.writer.transaction() as session:
                    flow_id = loaded.flow.id
                    found = await flow_store.current(session=session, flow_id=flow_id)
                    if found and found.publication.version == loaded.version:
                        return None
                    last = await flow_store.last_from_file(session=session, flow_id=flow_id)
                    if last is not None and last.version == loaded.version:
                        return None
                    publication = await flow_store.publish(
                        session=session,
                        flow_id=flow_id,
                        version=loaded.version,
                        source=loaded.source,
                        origin="file",
                        now=self.clock(),
                        path=path,
                    )
            except IntegrityError:
                if attempt == ATTEMPTS:
                    raise
                self.conflicts += 1
                continue
            log.info(
                "flow %s revision %d (version %s) published from %s",
                publication.flow_id,
                publication.revision,
                publication.version,
                path,
            )
            return publication
        raise AssertionError("unreachable")  # pragma: no cover
