"""The conversation service: the one place where channels, the engine and storage meet.

For each inbound message, in one transaction: lock the customer, dedupe by platform id,
load the conversation, run the engine, save state + transcript + answers + events, and
store the replies already claimed for the caller (or as delivered, when the caller answers
inline). The caller hands the reply to the delivery path (`cxbot/delivery.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel import History, Incoming, Recipient, Reply, Unavailable, pseudonym
from cxbot import direct_handoff
from cxbot.apology import apologize
from cxbot.closing_question import ClosingTurn, take_answer
from cxbot.envelopes import engine_inbound, outbound_from_row
from cxbot.greetings import answered_recently, unsupported, welcome, written_in
from cxbot.handoff import HandoffPolicy, customer_wrote, open_cases
from cxbot.history import history
from cxbot.keyboards import obsolete_keyboard, tapped_old
from cxbot.quiet import quiet_period_end
from cxbot.recording import SLA, record_outcome, save_state
from cxbot.transcript import duplicate_reply, inbound_text, store_inbound, store_replies
from cxbot.turns import Turns
from flows import engine
from flows import language as languages
from flows.events import Event, InterviewAbandoned, InterviewSkipped
from flows.loader import LoadedFlow
from flows.registry import FlowRegistry
from flows.state import ConversationState, Outbound, Outcome
from storage import queries, turn_rows
from storage.database import TIMEOUT_SECONDS, Sessions, transaction
from storage.models import Conversation
from storage.outages import unavailable
from storage.sqlite_driver import inline
from storage.turn_rows import CustomerRow
from storage.writes import Writer

log = logging.getLogger(__name__)

Listener = Callable[[Reply], Awaitable[None]]
Observer = Callable[[Incoming, Reply | None, BaseException | None, float], None]
"""Told of each `handle` call: the message, the reply or the error, and the seconds it took."""

LEASE = timedelta(seconds=15)
"""How long a claim on outbound messages holds without renewal (see cxbot/delivery.py)."""


@dataclass
class _Open:
    """The customer's running interview, loaded for this message."""

    conversation: Conversation
    flow: LoadedFlow
    state: ConversationState
    released: bool = False
    """Handed off, and told nobody has picked the case up: the customer may start over."""


@dataclass
class _Turn:
    """What handling one message decided, gathered before it is written."""

    incoming: Incoming
    at: datetime
    customer: CustomerRow
    conversation: Conversation | None = None
    outcome: Outcome | None = None
    notes: list[Outbound] = field(default_factory=list)
    events: list[tuple[int | None, Event]] = field(default_factory=list)
    held_since: datetime | None = None
    """When this caller's claim on the replies runs from (None: inline, or queued)."""


class ConversationService:
    """Runs interviews for every channel; see the module docstring."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        registry: FlowRegistry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lease: timedelta = LEASE,
        wait_seconds: float = TIMEOUT_SECONDS,
        handoff: HandoffPolicy | None = None,
    ) -> None:
        self.sessions = sessions
        self.handoff = handoff or HandoffPolicy()
        """Cases, deadlines and what a handed-off customer is told (cxbot/handoff.py)."""
        self.registry = registry
        self.clock = clock
        self.lease = lease
        self.writer = Writer(sessions)
        self.turns = Turns(self.writer, wait_seconds=wait_seconds)
        self.listeners: list[Listener] = []
        self.observer: Observer | None = None
        """The metrics' hook (cxbot/metrics.py), when they are on."""
        self.prober: Callable[[Reply], Awaitable[Reply]] | None = None
        """Words a follow-up question with the model (cxbot/probes.py), when one is set."""
        self._stored_versions: set[tuple[str, str]] = set()
        """Flow versions known to be in the database (committed), so starts skip the look."""
        registry.add(direct_handoff.FLOW, current=False)  # pinned, never listed or started

    async def handle(self, incoming: Incoming) -> Reply:
        """Process one inbound message exactly once and return the messages to send.

        Raises `Unavailable` when the database is (`storage.outages.unavailable`): nothing
        was stored, and the caller answers so that the platform delivers the message again.
        """
        if self.observer is None:
            return await self._handle_in_turn(incoming)
        started = time.perf_counter()
        try:
            reply = await self._handle_in_turn(incoming)
        except Exception as exc:
            self.observer(incoming, None, exc, time.perf_counter() - started)
            raise
        self.observer(incoming, reply, None, time.perf_counter() - started)
        return reply

    async def _handle_in_turn(self, incoming: Incoming) -> Reply:
        async with self.turns.hold(incoming.channel, incoming.customer_ref):
            try:
                reply = await self._process(incoming)
            except Exception as exc:
                reason = unavailable(exc)
                if reason is not None:
                    # no apology: it could not be stored either, and a retry will work
                    raise Unavailable(reason) from exc
                log.exception(
                    "handling %s message %s failed",
                    incoming.channel,
                    pseudonym(incoming.platform_message_id),
                )
                reply = await self._apologize(incoming)
        if self.prober is not None and not reply.duplicate and reply.events:
            reply = await self.prober(reply)  # outside the customer's turn, within a budget
        if not reply.duplicate and not reply.stale and reply.refused is None:
            for listener in self.listeners:
                try:
                    await listener(reply)
                except Exception:
                    log.exception("event listener failed")
        return reply

    async def history(
        self, *, channel: str, customer_ref: str, after_id: int = 0, flow_id: str | None = None
    ) -> History:
        """What a returning customer should see (the web chat reloads its page)."""
        return await history(
            self.sessions,
            channel=channel,
            customer_ref=customer_ref,
            after_id=after_id,
            flow_id=flow_id,
        )

    async def _process(self, incoming: Incoming) -> Reply:
        with inline():  # short statements, this process's write turn: see sqlite_driver
            return await self._process_inline(incoming)

    async def _process_inline(self, incoming: Incoming) -> Reply:
        try:
            async with transaction(self.sessions) as session:
                return await self._handle(session, incoming)
        except IntegrityError:
            # another process stored the same delivery (or customer) first: the second
            # attempt sees its rows and answers as a duplicate
            log.info("concurrent delivery of %s, retrying", pseudonym(incoming.platform_message_id))
            async with transaction(self.sessions) as session:
                return await self._handle(session, incoming)

    async def _apologize(self, incoming: Incoming) -> Reply:
        """After an internal error: keep the message, say sorry, and bring in a person."""
        now = self.clock()
        async with transaction(self.sessions) as session:
            return await apologize(
                policy=self.handoff,
                session=session,
                incoming=incoming,
                at=incoming.at or now,
                now=now,
                lease=self.lease,
            )

    async def _handle(self, session: AsyncSession, incoming: Incoming) -> Reply:
        customer = await self._customer(session, incoming)
        reply = await self._handle_turn(session, incoming, customer)
        await turn_rows.save_customer(session=session, customer=customer)
        return reply

    async def _handle_turn(
        self, session: AsyncSession, incoming: Incoming, customer: CustomerRow
    ) -> Reply:
        now = self.clock()
        turn = _Turn(incoming, incoming.at or now, customer)
        customer_id = customer.id
        duplicate = await duplicate_reply(
            session=session,
            customer_id=customer_id,
            incoming=incoming,
            now=now,
            lease=self.lease,
        )
        if duplicate is not None:
            # messages a dead sender left, now claimed for this caller, go to this customer
            return replace(duplicate, recipient=_recipient(turn))
        running = await self._running(session, turn)
        closing = await self._closing(session, turn, running)
        if closing is not None:
            running = None  # the conversation closed with the case
        if (
            closing is None
            and incoming.keyboards
            and incoming.kind == "button"
            and tapped_old(
                running.conversation if running else None,
                running.state if running else None,
                incoming.button,
            )
        ):
            return Reply((), stale=True, customer_id=customer_id)
        starting = None if closing and closing.answered else self._flow_to_start(incoming, running)
        quiet_until = await quiet_period_end(session, turn.customer, starting, turn.at)
        if quiet_until is not None and starting is not None:
            if incoming.kind == "trigger":
                return Reply((), customer_id=customer_id, refused="quiet")
            hints = (incoming.language_hint, turn.customer.language, written_in(incoming.text))
            turn.notes.append(answered_recently(starting.flow, quiet_until, *hints))
            turn.events.append((None, InterviewSkipped(starting.flow.id, "quiet-period")))
            starting, running = None, None  # answered once within the quiet period: enough
        if incoming.kind == "trigger" and starting is None:
            # an API start that cannot start (an interview or an agent under way): nothing is
            # stored, so the integrator may try again later with the same key
            return Reply((), customer_id=customer_id, refused="busy")
        if incoming.kind != "trigger":  # an API start is not the customer writing to us
            turn.customer.last_inbound_at = turn.at
        obsolete = (
            await obsolete_keyboard(session, running.conversation, running.state)
            if running is not None and incoming.keyboards and incoming.kind in ("text", "command")
            else None
        )
        if starting is not None and running is not None:
            closed = running.state.evolve(status="abandoned", step_id=None)
            save_state(running.conversation, closed, turn.at)
            turn.events.append((running.conversation.id, InterviewAbandoned("restarted")))
            running = None
        turn.conversation = running.conversation if running else turn.conversation
        text = await inbound_text(
            session=session, conversation=turn.conversation, incoming=incoming
        )
        if starting is not None:
            await self._start(session, turn, starting)
        elif running is not None:
            self._advance(turn, running)
        elif not turn.notes and (
            direct := direct_handoff.outcome(incoming, turn.customer, self.handoff.alerts, turn.at)
        ):
            await self._open_conversation(session, turn, direct_handoff.FLOW, direct)
        elif not turn.notes:
            turn.notes.append(
                welcome(
                    self.registry, incoming.text, incoming.language_hint, turn.customer.language
                )
            )
        messages = await self._write(session, turn, text, now)
        return Reply(
            messages,
            conversation_id=turn.conversation.id if turn.conversation else None,
            customer_id=customer_id,
            events=tuple((e.name, e.data()) for _, e in turn.events),
            obsolete_keyboard=obsolete if messages else None,
            held_since=turn.held_since,
            recipient=_recipient(turn),
        )

    async def _closing(
        self, session: AsyncSession, turn: _Turn, running: _Open | None
    ) -> ClosingTurn | None:
        """A handed-off conversation whose case was resolved: the message answers the
        closing question (recorded and thanked) or ends it unanswered."""
        if running is None or running.conversation.status != "handed_off":
            return None
        if turn.incoming.kind == "trigger":  # an integrator's start is not the customer
            return None
        closing = await take_answer(
            session=session, conversation=running.conversation, incoming=turn.incoming, at=turn.at
        )
        if closing is not None:
            turn.events.extend((running.conversation.id, e) for e in closing.events)
            turn.notes.extend(closing.notes)
            if closing.answered:  # the answer belongs to the closed conversation
                turn.conversation = running.conversation
        return closing

    async def _customer(self, session: AsyncSession, incoming: Incoming) -> CustomerRow:
        """The customer, created on first contact, its row locked for this transaction."""
        # another process handling this customer's message goes first (PostgreSQL; a new
        # customer is not locked, but a second insert fails and the retry takes the lock)
        return await turn_rows.lock_customer(
            session=session,
            channel=incoming.channel,
            external_id=incoming.customer_ref,
            display_name=incoming.display_name,
            language=languages.normalize(incoming.language_hint),
        )

    def _advance(self, turn: _Turn, running: _Open) -> None:
        """Run the engine on the customer's message (or say we read text only)."""
        incoming = turn.incoming
        if incoming.kind == "unsupported" and running.conversation.status == "active":
            turn.notes.append(unsupported(running.state.language))
            return
        turn.outcome = engine.advance(
            running.flow.flow,
            running.state,
            engine_inbound(incoming, turn.at),
            alerts=self.handoff.alerts,
        )
        save_state(
            running.conversation,
            turn.outcome.state,
            turn.at,
            timeout_seconds=running.flow.flow.timeout_seconds,
        )

    async def _write(
        self, session: AsyncSession, turn: _Turn, text: str, now: datetime
    ) -> tuple[tuple[int, Outbound], ...]:
        """Store the customer's message (in the conversation it ended up in), the outcome
        (answers, escalations, events) and the replies."""
        customer_id = turn.customer.id
        conversation, outcome = turn.conversation, turn.outcome
        inbound_id = await store_inbound(
            session=session,
            customer_id=customer_id,
            conversation_id=conversation.id if conversation else None,
            incoming=turn.incoming,
            text=text,
            at=now,
        )
        if outcome is not None and conversation is not None:
            turn.events.extend((conversation.id, e) for e in outcome.events)
            await record_outcome(
                session=session,
                conversation=conversation,
                outcome=outcome,
                at=turn.at,
            )
            turn.customer.language = outcome.state.language  # for the next welcome
            wait = await open_cases(
                session=session,
                policy=self.handoff,
                customer_id=customer_id,
                conversation=conversation,
                events=outcome.events,
                at=turn.at,
            )
            turn.notes[:0] = [wait] if wait else []  # the wait, right after the handoff text
        messages, turn.held_since = await store_replies(
            session=session,
            customer_id=customer_id,
            conversation_id=conversation.id if conversation else None,
            incoming=turn.incoming,
            reply_to_id=inbound_id,
            messages=[*(outcome.outbound if outcome else ()), *turn.notes],
            now=now,
        )
        await queries.insert_events(
            session=session,
            events=[(ref, event.name, event.data()) for ref, event in turn.events],
            at=turn.at,
        )
        return messages

    async def _running(self, session: AsyncSession, turn: _Turn) -> _Open | None:
        """The customer's open interview, closed first if its reply timeout has passed."""
        conversation = await queries.open_conversation(
            session=session, customer_id=turn.customer.id
        )
        if conversation is None:
            return None
        flow = await self.pinned_flow(session, conversation)
        state = ConversationState.from_json(conversation.state)
        if conversation.status == "handed_off":
            assert conversation.id is not None
            released = await customer_wrote(
                session=session,
                conversation_id=conversation.id,
                writing=turn.incoming.kind != "trigger",
            )
            return _Open(conversation, flow, state, released=released)
        if engine.is_expired(flow.flow, state, turn.at):
            expired = engine.expire(flow.flow, state, turn.at)
            save_state(conversation, expired.state, turn.at)
            turn.events.extend((conversation.id, e) for e in expired.events)
            return None
        return _Open(conversation, flow, state)

    def _flow_to_start(self, incoming: Incoming, running: _Open | None) -> LoadedFlow | None:
        handed_off = running is not None and running.conversation.status == "handed_off"
        released = running is not None and running.released
        if handed_off and not incoming.restart and not released:
            return None  # an agent has this customer: a /start or menu click goes to them
        if incoming.kind == "trigger" and running is not None and not released:
            return None  # an API start never interrupts an interview under way
        if incoming.flow_id is not None:
            return self.registry.current(incoming.flow_id)
        same = self.registry.current(running.conversation.flow_id) if running else None
        if incoming.command == "start" and same is not None:
            return same  # /start: from the top
        if incoming.command == "start":
            flows = self.registry.all()
            return self.registry.current("nps") or (flows[0] if flows else None)
        if (running is None or released) and incoming.text:
            return self.registry.triggered_by(incoming.text)
        return None

    async def pinned_flow(self, session: AsyncSession, conversation: Conversation) -> LoadedFlow:
        """The exact flow version a conversation started on (reloaded from its stored text)."""
        found = self.registry.version(conversation.flow_id, conversation.flow_version)
        if found is not None:
            return found
        source = await queries.get_flow_source(
            session=session, flow_id=conversation.flow_id, version=conversation.flow_version
        )
        if source is None:
            raise LookupError(
                f"flow {conversation.flow_id}@{conversation.flow_version} is not stored"
            )
        return self.registry.add_source(conversation.flow_id, conversation.flow_version, source)

    async def _start(self, session: AsyncSession, turn: _Turn, loaded: LoadedFlow) -> None:
        customer, incoming = turn.customer, turn.incoming
        hints = (incoming.language_hint, customer.language, written_in(incoming.text))
        outcome = engine.start(
            loaded.flow,
            version=loaded.version,
            at=turn.at,
            language_hints=hints,
            variables={"customer_name": customer.display_name or "", "channel": incoming.channel},
        )
        await self._open_conversation(session, turn, loaded, outcome)

    async def _open_conversation(
        self, session: AsyncSession, turn: _Turn, loaded: LoadedFlow, outcome: Outcome
    ) -> None:
        """Store a new conversation pinned to `loaded`, in the state `outcome` left it."""
        flow, customer, incoming = loaded.flow, turn.customer, turn.incoming
        key = (flow.id, loaded.version)
        if key not in self._stored_versions and await queries.save_flow_version(
            session=session, flow_id=flow.id, version=loaded.version, source=loaded.source
        ):
            self._stored_versions.add(key)  # committed before: no need to look again
        conversation = Conversation(
            customer_id=customer.id,
            channel=incoming.channel,
            flow_id=flow.id,
            flow_version=loaded.version,
            touchpoint=flow.touchpoint,
            journey_stage=flow.journey_stage,
            language=outcome.state.language,
            status=outcome.state.status,
            state=outcome.state.to_json(),
            started_at=turn.at,
            updated_at=turn.at,
        )
        if outcome.state.status == "active":
            conversation.expires_at = outcome.state.last_activity_at + timedelta(
                seconds=flow.timeout_seconds
            )
        session.add(conversation)
        await session.flush()
        turn.conversation, turn.outcome = conversation, outcome


def _recipient(turn: _Turn) -> Recipient:
    """Where this turn's messages go."""
    incoming = turn.incoming
    return Recipient(incoming.channel, incoming.customer_ref, turn.customer.last_inbound_at)


__all__ = [
    "SLA",
    "ConversationService",
    "History",
    "Incoming",
    "Reply",
    "history",
    "outbound_from_row",
]
