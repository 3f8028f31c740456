"""What the flow pages and `/api/v1/flows` need from the flow studio service
(`cxbot.flow_studio.Studio` satisfies it; the app factory hands it over), and the values it
returns.

Errors (all `StudioError`): `FlowMissing` → 404 (no such flow, revision, version or draft),
`FlowConflict` → 409 (`expected_revision` is no longer the current one), `FlowInvalid` →
422 (the text has problems, or the flow id in the URL is not a valid id; nothing was
published).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from flows.validation import Problem, Validation

FlowState = Literal["published", "retired", "draft"]
"""`draft`: a flow that exists only as drafts, never published."""


class StudioError(Exception):
    """A flow studio action that cannot be done; `key` names the reason (an i18n text key)."""

    status_code = 400

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(detail)
        self.key = key
        self.detail = detail


class FlowMissing(StudioError):
    status_code = 404


class FlowConflict(StudioError):
    status_code = 409


class FlowInvalid(StudioError):
    status_code = 422

    def __init__(self, key: str, detail: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(key, detail)
        self.problems = problems


@dataclass(frozen=True)
class Revision:
    """One publication of a flow."""

    flow_id: str
    revision: int
    version: str
    origin: str
    """`file`, `editor` or `cli`."""
    path: str | None
    """The flow file (origin `file` or `cli`)."""
    author: str | None
    """The admin user's or API token's name (none for a file)."""
    restored_from: int | None
    """The revision whose text this one restored."""
    published_at: datetime


@dataclass(frozen=True)
class FlowSummary:
    """One flow as the list shows it."""

    id: str
    name: str | dict[str, str]
    """The flow's `name` (one text or one per language); for a draft-only flow its id when
    the draft does not parse."""
    status: FlowState
    current: Revision | None
    """The newest publication (none for a draft-only flow)."""
    live_version: str | None
    """The version this process starts new interviews with (none: retired or not loaded)."""
    keywords: tuple[str, ...]
    commands: tuple[str, ...]
    api: bool
    """Whether integrations may start it through the API."""
    drafts: tuple[str, ...]
    """Authors holding a draft of it."""
    started_week: int
    """Interviews started in the last 7 UTC days, today included (the dashboard's tally)."""
    completed_week: int
    completion_rate: float | None
    """completed / started over those days, 0..1 (none when none started)."""


@dataclass(frozen=True)
class FlowDetail:
    """One flow: the list's summary, its published text and its history (newest first)."""

    summary: FlowSummary
    source: str | None
    """The current publication's text (none for a draft-only flow)."""
    history: tuple[Revision, ...]


@dataclass(frozen=True)
class Draft:
    """An author's unpublished text of a flow, with what checking it found."""

    flow_id: str
    author: str
    source: str
    base_revision: int | None
    saved_at: datetime
    problems: tuple[Problem, ...]


class FlowStudio(Protocol):
    """Reading, drafting and publishing flows. `author` is the principal's name."""

    async def list_flows(self) -> list[FlowSummary]:
        """Every flow: published, retired, and those only drafted."""

    async def flow(self, flow_id: str) -> FlowDetail:
        """One flow (FlowMissing when it was never published nor drafted)."""

    async def revision(self, flow_id: str, number: int) -> tuple[Revision, str]:
        """One revision and its text (FlowMissing)."""

    async def version_source(self, flow_id: str, version: str) -> str:
        """The text of any stored version, also one only conversations ran (FlowMissing)."""

    async def validate(self, source: str, *, flow_id: str | None = None) -> Validation:
        """Check a text off the event loop (pure: stores nothing)."""

    async def draft(self, flow_id: str, author: str) -> Draft:
        """The author's draft (FlowMissing when there is none)."""

    async def save_draft(
        self, flow_id: str, author: str, source: str, base_revision: int | None
    ) -> Draft:
        """Keep the author's draft, broken or not (FlowInvalid only for a bad flow id)."""

    async def discard_draft(self, flow_id: str, author: str) -> None:
        """Remove the author's draft (FlowMissing when there is none)."""

    async def publish(
        self,
        flow_id: str,
        *,
        author: str,
        source: str | None = None,
        expected_revision: int | None = None,
    ) -> Revision:
        """Publish `source`, or the author's draft when it is None (the draft is then
        removed). FlowInvalid with the problems when the text is broken (nothing is
        published); FlowConflict when `expected_revision` is given and is not the current
        revision; FlowMissing when there is neither source nor draft. Live at once in this
        process, within `flow_poll_seconds` in the others."""

    async def restore(self, flow_id: str, number: int, *, author: str) -> Revision:
        """Publish an older revision's text as a new revision (FlowMissing)."""

    async def retire(self, flow_id: str, *, author: str) -> FlowSummary:
        """Stop a flow starting new interviews (running ones go on); publishing it again
        brings it back (FlowMissing)."""
