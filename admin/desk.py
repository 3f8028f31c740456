"""What the agents' pages and API need from the desk service (`cxbot.desk.Desk` satisfies
it; the app factory hands it over), and the values it returns.

Errors (all `DeskError`): `CaseMissing` → 404, `CaseConflict` → 409 (claimed by another
agent, already resolved…), `CaseInvalid` → 422 (an unknown outcome, an empty reply).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from admin.access import Principal


class DeskError(Exception):
    """A desk action that cannot be done; `key` names the reason (an i18n text key)."""

    status_code = 400

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(detail)
        self.key = key
        self.detail = detail


class CaseMissing(DeskError):
    status_code = 404


class CaseConflict(DeskError):
    status_code = 409


class CaseInvalid(DeskError):
    status_code = 422


@dataclass(frozen=True)
class CaseCard:
    """One case as the queue lists it."""

    id: int
    conversation_id: int
    """The conversation the case belongs to (its transcript page: /admin/conversations/{id})."""
    status: str
    priority: str
    reason: str
    channel: str
    language: str
    created_at: datetime
    due_at: datetime
    seconds_left: int
    """Until the response deadline (negative: overdue); 0 once answered or done."""
    overdue: bool
    score: str | None
    """The interview's score, e.g. `NPS 3` (None when it has none)."""
    summary: str
    """The model's 1-3 line summary when there is one, else the extract."""
    assigned_to: str | None
    customer: str
    """The customer's display name, or a short pseudonym."""
    first_reply_at: datetime | None
    outcome: str | None
    closing_answer: str | None
    extract: str = ""
    """A deterministic extract: the score and the customer's key answers."""
    summary_by: str = ""
    """The model's name when `summary` is the model's; empty when it is the extract."""


@dataclass(frozen=True)
class Line:
    """One transcript message on the case page."""

    id: int
    direction: str
    author: str
    text: str
    state: str
    """received (inbound); pending, sending, sent or failed."""
    error: str | None
    at: datetime
    buttons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Note:
    author: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Limits:
    """What the customer's channel allows before a reply is sent."""

    channel: str
    window_hours: float | None
    """The platform's reply window after the customer's last message (None: none)."""
    window_left_seconds: int | None
    quota: int | None
    """Sends allowed per customer message (None: no such limit)."""
    sends_left: int | None
    refusal: str | None
    """Why a reply would be refused now (window passed, quota used), or None."""


@dataclass(frozen=True)
class CaseFile:
    """Everything the case page shows."""

    card: CaseCard
    conversation_status: str
    note: str | None
    closing_asked_at: datetime | None
    lines: tuple[Line, ...]
    notes: tuple[Note, ...]
    limits: Limits
    outcomes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Sent:
    """What became of an agent's reply."""

    message_id: int | None
    state: str
    """sent, pending (queued: the platform asked to wait) or failed."""
    error: str | None


class DeskService(Protocol):
    """The agents' desk, as admin pages and the API use it."""

    outcomes: tuple[str, ...]

    async def queue(
        self,
        *,
        statuses: tuple[str, ...] | None = None,
        priority: str | None = None,
        channel: str | None = None,
        overdue: bool | None = None,
    ) -> list[CaseCard]:
        """Cases, most pressing first (open ones unless `statuses`)."""
        ...

    async def case(self, case_id: int, *, after_id: int = 0) -> CaseFile:
        """One case with its transcript after `after_id`."""
        ...

    async def stamp(self, case_id: int) -> str:
        """A short value that changes whenever the case page should update."""
        ...

    async def claim(self, case_id: int, who: Principal) -> CaseCard:
        """Assign the case to `who`; CaseConflict if another agent was first."""
        ...

    async def reply(self, case_id: int, who: Principal, text: str) -> Sent:
        """Send `text` to the customer through the one delivery path."""
        ...

    async def add_note(self, case_id: int, who: Principal, text: str) -> Note:
        """An internal note (never sent to the customer)."""
        ...

    async def set_status(self, case_id: int, who: Principal, status: str) -> CaseCard:
        """Move between assigned and waiting (on the customer), or reopen."""
        ...

    async def resolve(
        self, case_id: int, who: Principal, *, outcome: str, note: str, ask: bool = True
    ) -> CaseCard:
        """Resolve with an outcome code; with `ask`, the customer gets the closing question."""
        ...

    async def close(self, case_id: int, who: Principal, *, note: str) -> CaseCard:
        """Close without contact."""
        ...
