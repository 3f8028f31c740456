"""The agents' desk: the case queue, claiming, replies through the one delivery path, internal
notes, status changes, resolving with an outcome and the closing question.

It satisfies `admin.desk.DeskService`; the app factory hands it to the admin pages and the
API. Every change is one transaction with a conditional UPDATE (`storage.desk`) and an
event row (`escalation-claimed`, `escalation-status-changed`, `escalation-resolved`,
`escalation-closed`), so two agents or two app processes never both win, and notifications
and webhooks read what happened from the `event` table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.access import Principal
from admin.desk import (
    CaseCard,
    CaseConflict,
    CaseFile,
    CaseInvalid,
    CaseMissing,
    Limits,
    Note,
    Sent,
)
from cxbot.case_cards import card_of, is_command, limits_of, line_of
from cxbot.closing_question import close_conversation, question
from cxbot.delivery import Delivery
from storage import analysis
from storage import desk as queries
from storage import queries as base_queries
from storage.database import Sessions
from storage.models import Conversation, Escalation
from storage.writes import Writer

log = logging.getLogger(__name__)

MAX_REPLY = 2000
MAX_NOTE = 4000


class Desk:
    """The desk service; see the module docstring."""

    outcomes: tuple[str, ...] = queries.OUTCOMES

    def __init__(
        self,
        *,
        sessions: Sessions,
        writer: Writer,
        delivery: Delivery,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.writer = writer
        self.delivery = delivery
        self.clock = clock

    # -- reading ------------------------------------------------------------------------

    async def queue(
        self,
        *,
        statuses: tuple[str, ...] | None = None,
        priority: str | None = None,
        channel: str | None = None,
        overdue: bool | None = None,
    ) -> list[CaseCard]:
        """Cases, most pressing first (the open ones unless `statuses`)."""
        now = self.clock()
        async with self.sessions() as session:
            rows = await queries.cases(
                session=session,
                statuses=statuses or queries.OPEN,
                priority=priority,
                channel=channel,
                overdue_at=now if overdue else None,
            )
            answers = await queries.answers_of(
                session=session, conversation_ids=[r.conversation.id or 0 for r in rows]
            )
            summaries = await analysis.summaries_of(
                session=session, escalation_ids=[r.escalation.id or 0 for r in rows]
            )
        return [
            card_of(
                row,
                answers.get(row.conversation.id or 0, []),
                now,
                summaries.get(row.escalation.id or 0),
            )
            for row in rows
        ]

    async def case(self, case_id: int, *, after_id: int = 0) -> CaseFile:
        """One case with its transcript after `after_id`, notes and channel limits."""
        now = self.clock()
        async with self.sessions() as session:
            row = await self._row(session, case_id)
            conversation_id = row.conversation.id or 0
            answers = await queries.answers_of(session=session, conversation_ids=[conversation_id])
            lines = await queries.transcript(
                session=session, conversation_id=conversation_id, after_id=after_id
            )
            notes = await queries.notes_of(session=session, escalation_id=case_id)
            summary = await analysis.summaries_of(session=session, escalation_ids=[case_id])
        return CaseFile(
            card=card_of(row, answers.get(conversation_id, []), now, summary.get(case_id)),
            conversation_status=row.conversation.status,
            note=row.escalation.note,
            closing_asked_at=row.escalation.closing_asked_at,
            lines=tuple(line_of(m) for m in lines if not is_command(m)),
            notes=tuple(Note(n.author, n.text, n.created_at) for n in notes),
            limits=await self._limits(row, now),
            outcomes=self.outcomes,
        )

    async def stamp(self, case_id: int) -> str:
        """Changes whenever the case page should update (a new message, a delivery settled,
        the case changed)."""
        async with self.sessions() as session:
            row = await self._row(session, case_id)
            last, unsettled, updated = await queries.changed_since(
                session=session, escalation_id=case_id, conversation_id=row.conversation.id or 0
            )
        return f"{last}:{unsettled}:{updated.isoformat() if updated else ''}"

    # -- acting -------------------------------------------------------------------------

    async def claim(self, case_id: int, who: Principal) -> CaseCard:
        """Assign an open case to `who`; CaseConflict if someone was first."""
        now = self.clock()
        async with self.writer.transaction() as session:
            won = await queries.claim(
                session=session, escalation_id=case_id, user_id=_user(who), name=_name(who), now=now
            )
            if not won:
                row = await self._row(session, case_id)
                raise CaseConflict(
                    "desk.error.claimed",
                    f"case {case_id} is {row.escalation.status}"
                    + (
                        f" ({row.escalation.assigned_name})" if row.escalation.assigned_name else ""
                    ),
                )
            await self._event(session, case_id, "escalation-claimed", who, now)
        return await self._fresh_card(case_id)

    async def reply(self, case_id: int, who: Principal, text: str) -> Sent:
        """Send `text` to the customer in their channel (an `agent` transcript row); an open
        case is claimed by the replying agent."""
        text = text.strip()
        if not 1 <= len(text) <= MAX_REPLY:
            raise CaseInvalid("desk.error.reply", f"a reply has 1–{MAX_REPLY} characters")
        now = self.clock()
        async with self.writer.transaction() as session:
            row = await self._row(session, case_id)
            if row.escalation.status in queries.DONE:
                raise CaseConflict("desk.error.done", f"case {case_id} is {row.escalation.status}")
            if await queries.claim(
                session=session, escalation_id=case_id, user_id=_user(who), name=_name(who), now=now
            ):
                await self._event(session, case_id, "escalation-claimed", who, now)
        report = await self.delivery.send_text(
            channel=row.customer.channel,
            customer_ref=row.customer.external_id,
            text=text,
            author="agent",
            conversation_id=row.conversation.id,
        )
        ids = report.sent + report.failed + report.deferred
        state = "sent" if report.sent else "failed" if report.failed or not ids else "pending"
        if state != "failed":
            async with self.writer.transaction() as session:
                await queries.mark_first_reply(session=session, escalation_id=case_id, at=now)
        else:
            log.warning("agent reply on case %d not delivered (reason on the message)", case_id)
        return Sent(ids[0] if ids else None, state, report.error if state != "sent" else None)

    async def add_note(self, case_id: int, who: Principal, text: str) -> Note:
        """An internal note on the case."""
        text = text.strip()
        if not 1 <= len(text) <= MAX_NOTE:
            raise CaseInvalid("desk.error.note", f"a note has 1–{MAX_NOTE} characters")
        now = self.clock()
        async with self.writer.transaction() as session:
            await self._row(session, case_id)
            note = await queries.add_note(
                session=session, escalation_id=case_id, author=who.name, text=text, at=now
            )
        return Note(note.author, note.text, note.created_at)

    async def set_status(self, case_id: int, who: Principal, status: str) -> CaseCard:
        """`waiting` (on the customer) from assigned, `assigned` back from waiting, or `open`
        again (unassigned) from either."""
        sources = {
            "waiting": ("assigned",),
            "assigned": ("waiting",),
            "open": ("assigned", "waiting"),
        }
        if status not in sources:
            raise CaseInvalid("desk.error.status", f"status must be one of {', '.join(sources)}")
        now = self.clock()
        extra = {"assigned_user_id": None, "assigned_name": None} if status == "open" else {}
        async with self.writer.transaction() as session:
            moved = await queries.change_status(
                session=session,
                escalation_id=case_id,
                from_statuses=sources[status],
                to=status,  # type: ignore[arg-type]
                now=now,
                **extra,
            )
            if not moved:
                row = await self._row(session, case_id)
                raise CaseConflict(
                    "desk.error.status_now", f"case {case_id} is {row.escalation.status}"
                )
            await self._event(
                session, case_id, "escalation-status-changed", who, now, status=status
            )
        return await self._fresh_card(case_id)

    async def resolve(
        self, case_id: int, who: Principal, *, outcome: str, note: str, ask: bool = True
    ) -> CaseCard:
        """Resolve with an outcome code and a note; with `ask` (and the customer still in the
        conversation) the closing question goes out, else the conversation closes."""
        if outcome not in self.outcomes:
            raise CaseInvalid("desk.error.outcome", f"outcome must be one of {self.outcomes}")
        return await self._finish(case_id, who, "resolved", outcome, note, ask)

    async def close(self, case_id: int, who: Principal, *, note: str) -> CaseCard:
        """Close without contact (the conversation closes; no closing question)."""
        return await self._finish(case_id, who, "closed", None, note, False)

    # -- inside -------------------------------------------------------------------------

    async def _finish(
        self, case_id: int, who: Principal, status: str, outcome: str | None, note: str, ask: bool
    ) -> CaseCard:
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise CaseInvalid("desk.error.note", f"a note has at most {MAX_NOTE} characters")
        now = self.clock()
        async with self.writer.transaction() as session:
            row = await self._row(session, case_id)
            await queries.lock_customer(session=session, customer_id=row.customer.id or 0)
            await session.refresh(row.conversation)  # as it stands under the customer's lock
            asking = (
                ask
                and row.conversation.status == "handed_off"
                and (row.customer.channel in self.delivery.senders)
            )
            done = await queries.change_status(
                session=session,
                escalation_id=case_id,
                from_statuses=queries.OPEN,
                to=status,  # type: ignore[arg-type]
                now=now,
                outcome=outcome,
                note=note or None,
                resolved_at=now,
                closing_asked_at=now if asking else None,
            )
            if not done:
                raise CaseConflict("desk.error.done", f"case {case_id} is {row.escalation.status}")
            if not asking and row.conversation.status == "handed_off":
                still_open = await queries.open_case_of(
                    session=session, conversation_id=row.conversation.id or 0
                )
                if still_open is None:
                    close_conversation(row.conversation, now)
            name = "escalation-resolved" if status == "resolved" else "escalation-closed"
            await self._event(session, case_id, name, who, now, outcome=outcome, asked=asking)
        if asking:
            report = await self.delivery.send_message(
                channel=row.customer.channel,
                customer_ref=row.customer.external_id,
                message=question(row.conversation.language),
                author="bot",
                conversation_id=row.conversation.id,
            )
            if report.failed:  # the customer cannot get it: nothing to wait for
                await self._unasked(case_id, row.conversation.id or 0, now)
        return await self._fresh_card(case_id)

    async def _unasked(self, case_id: int, conversation_id: int, now: datetime) -> None:
        """The closing question could not be delivered: the case was not asked after all,
        and the conversation closes."""
        async with self.writer.transaction() as session:
            case = await session.get(Escalation, case_id)
            if case is not None and case.closing_answer is None:
                case.closing_asked_at = None
            conversation = await session.get(Conversation, conversation_id)
            if conversation is not None and conversation.status == "handed_off":
                close_conversation(conversation, now)

    async def _row(self, session: AsyncSession, case_id: int) -> queries.CaseRow:
        row = await queries.one_case(session=session, escalation_id=case_id)
        if row is None:
            raise CaseMissing("desk.error.missing", f"no case {case_id}")
        return row

    async def _fresh_card(self, case_id: int) -> CaseCard:
        now = self.clock()
        async with self.sessions() as session:
            row = await self._row(session, case_id)
            answers = await queries.answers_of(
                session=session, conversation_ids=[row.conversation.id or 0]
            )
            summary = await analysis.summaries_of(session=session, escalation_ids=[case_id])
        return card_of(row, answers.get(row.conversation.id or 0, []), now, summary.get(case_id))

    async def _event(
        self,
        session: AsyncSession,
        case_id: int,
        name: str,
        who: Principal,
        at: datetime,
        **data: object,
    ) -> None:
        row = await self._row(session, case_id)
        await base_queries.insert_events(
            session=session,
            events=[
                (
                    row.conversation.id,
                    name,
                    {"escalation_id": case_id, "by": who.name, "by_kind": who.kind, **data},
                )
            ],
            at=at,
        )

    async def _limits(self, row: queries.CaseRow, now: datetime) -> Limits:
        sender = self.delivery.senders.get(row.customer.channel)
        last = row.customer.last_inbound_at
        sends_left = (
            await self.delivery.sends_left(
                channel=row.customer.channel, customer_id=row.customer.id or 0, since=last
            )
            if last is not None
            else None
        )
        return limits_of(row.customer.channel, sender, last, sends_left, now)


def _user(who: Principal) -> int | None:
    """The admin user behind an action (None for an API token)."""
    return who.id if who.kind == "user" else None


def _name(who: Principal) -> str:
    """How a case shows who holds it: the user's name, or `api:<token name>`."""
    return who.name if who.kind == "user" else f"api:{who.name}"[:64]
