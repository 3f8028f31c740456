"""The customer's side of a handoff: opening a case, the wait message, and a case nobody
picks up.

- A case (an `escalation` row) opens when the engine asks for a person (an escalation
  rule, a handoff step, a handoff word, an alert word) or after an internal error. A
  conversation has at most one case still being worked on: a second request raises the
  open case's priority and brings its deadline forward instead (a partial unique index
  backs this up across processes).
- Its deadline is its priority's SLA counted in service hours (`cxbot/service_hours.py`).
- When a conversation is handed off the customer is told honestly when to expect a reply:
  within the SLA while the team works, or when it opens next.
- While handed off the bot is silent; a customer writing to a case waiting on them
  (`waiting`) sends it back to its agent (`assigned`).
- A case without an agent reply by `unattended_at` (never before its deadline): the
  customer is told so once, politely, and may start over (`/start`, a start keyword, a new
  survey); the case stays open, and overdue, for the team (`cxbot/unattended.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from cxbot import handoff_texts
from cxbot.recording import SLA
from cxbot.service_hours import ServiceHours
from flows.events import EscalationRequested, Event, InterviewHandedOff
from flows.matching import DEFAULT_ALERT_WORDS, AlertWords
from flows.state import Outbound
from storage import handoffs
from storage.models import Conversation, Escalation

if TYPE_CHECKING:
    from cxbot.settings import Settings

PRIORITIES = ("low", "normal", "high", "urgent")
"""From the least to the most pressing."""


@dataclass(frozen=True)
class HandoffPolicy:
    """How cases open and what the customer is told: built from the settings."""

    hours: ServiceHours = field(default_factory=lambda: ServiceHours.parse("24/7"))
    sla: Mapping[str, timedelta] = field(default_factory=lambda: dict(SLA))
    alerts: AlertWords = field(default_factory=lambda: AlertWords(DEFAULT_ALERT_WORDS))
    unattended: timedelta = timedelta(hours=1)
    """Service time after which a case no agent has answered is admitted to the customer."""

    @classmethod
    def from_settings(cls, settings: Settings) -> HandoffPolicy:
        """The policy the settings describe."""
        return cls(
            hours=ServiceHours.parse(
                settings.service_hours, settings.service_timezone, settings.closed_dates
            ),
            sla={p: settings.duration(f"sla_{p}") for p in PRIORITIES},
            alerts=AlertWords(settings.alert_word_list, settings.alert_priority),
            unattended=settings.duration("handoff_unattended"),
        )

    def due(self, priority: str, at: datetime) -> datetime:
        """When an agent must have answered a case of `priority` opened at `at`."""
        return self.hours.deadline(at, self.sla.get(priority, self.sla["normal"]))

    def unattended_at(self, opened: datetime, due: datetime) -> datetime:
        """When the customer hears that nobody has picked the case up (not before `due`)."""
        return max(due, self.hours.deadline(opened, self.unattended))


async def open_cases(
    *,
    session: AsyncSession,
    policy: HandoffPolicy,
    customer_id: int,
    conversation: Conversation,
    events: Iterable[Event],
    at: datetime,
) -> Outbound | None:
    """Open (or raise) the conversation's case for each escalation the engine asked for;
    when the conversation was handed off, what the customer is told about the wait."""
    assert conversation.id is not None
    events = list(events)
    for event in events:
        if isinstance(event, EscalationRequested):
            await open_case(
                session=session,
                policy=policy,
                customer_id=customer_id,
                conversation_id=conversation.id,
                reason=event.reason,
                priority=event.priority,
                at=at,
            )
    if not any(isinstance(e, InterviewHandedOff) for e in events):
        return None
    return await wait_message(session=session, policy=policy, conversation=conversation, now=at)


async def open_case(
    *,
    session: AsyncSession,
    policy: HandoffPolicy,
    customer_id: int,
    conversation_id: int,
    reason: str,
    priority: str,
    at: datetime,
) -> Escalation:
    """The conversation's open case: a new one, or the one already open, its priority raised
    and its deadline brought forward when this request is more pressing."""
    due = policy.due(priority, at)
    case = await handoffs.open_case(session=session, conversation_id=conversation_id)
    if case is None:
        case = Escalation(
            conversation_id=conversation_id,
            customer_id=customer_id,
            reason=reason,
            priority=priority,
            due_at=due,
            created_at=at,
            unattended_at=policy.unattended_at(at, due),
        )
        session.add(case)
        await session.flush()
        return case
    if _rank(priority) > _rank(case.priority):
        case.priority = priority
    if due < case.due_at:
        case.due_at = due
        if case.unattended_at is not None and case.unattended_told_at is None:
            case.unattended_at = policy.unattended_at(case.created_at, due)
    return case


def _rank(priority: str) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else 1


async def wait_message(
    *, session: AsyncSession, policy: HandoffPolicy, conversation: Conversation, now: datetime
) -> Outbound | None:
    """What a customer just handed off is told about the wait (None: no case is open)."""
    assert conversation.id is not None
    case = await handoffs.open_case(session=session, conversation_id=conversation.id)
    if case is None:
        return None
    return handoff_texts.wait(policy.hours, conversation.language, now=now, due=case.due_at)


async def customer_wrote(
    *, session: AsyncSession, conversation_id: int, writing: bool = True
) -> bool:
    """A message to a handed-off conversation: a case waiting on the customer goes back to
    its agent (when the customer is `writing`, not an API start); True when the customer was
    told nobody picked the case up, and so may start over."""
    if writing:
        await handoffs.customer_wrote(session=session, conversation_id=conversation_id)
    case = await handoffs.open_case(session=session, conversation_id=conversation_id)
    return case is not None and case.unattended_told_at is not None
