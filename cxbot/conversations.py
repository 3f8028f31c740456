"""The conversation service: the one place where channels, the engine and storage meet.

For each inbound message: lock the customer, dedupe by platform id, load the
conversation, run the engine, save state + transcript + answers + events in one
transaction, and return what to send. Channels send it and report delivery back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from cxbot.apology import apologize
from cxbot.envelopes import Incoming, Reply, engine_inbound, outbound_from_row
from cxbot.greetings import unsupported, welcome, written_in
from cxbot.history import History, history
from cxbot.recording import SLA, record_outcome, save_state
from cxbot.transcript import duplicate_reply, store_inbound, store_replies
from flows import engine
from flows import language as languages
from flows.events import Event, InterviewAbandoned
from flows.loader import LoadedFlow
from flows.registry import FlowRegistry
from flows.state import ConversationState, Outbound, Outcome
from storage import queries
from storage.database import Sessions, transaction
from storage.models import Conversation, Customer

log = logging.getLogger(__name__)

Listener = Callable[[Reply], Awaitable[None]]

SEND_LEASE = timedelta(seconds=120)
"""How long a claimed outbound message is reserved for its sender (longer than any retry)."""


@dataclass
class _Open:
    """The customer's running interview, loaded for this message."""

    conversation: Conversation
    flow: LoadedFlow
    state: ConversationState


class ConversationService:
    """Runs interviews for every channel; see the module docstring."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        registry: FlowRegistry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.clock = clock
        self.listeners: list[Listener] = []
        self._locks = [asyncio.Lock() for _ in range(64)]
        bind = sessions.kw.get("bind")
        # SQLite has one writer: queue transactions here instead of in SQLite's busy loop,
        # which sleeps in growing steps and turns contention into second-long tails
        self._sqlite_writer = (
            asyncio.Lock() if bind is not None and bind.dialect.name == "sqlite" else None
        )

    def _lock(self, channel: str, ref: str) -> asyncio.Lock:
        """The in-process lock this customer's messages queue on (one of 64, by hash)."""
        return self._locks[hash((channel, ref)) % len(self._locks)]

    async def handle(self, incoming: Incoming) -> Reply:
        """Process one inbound message exactly once and return the messages to send."""
        lock = self._lock(incoming.channel, incoming.customer_ref)
        async with lock, self._sqlite_writer or contextlib.nullcontext():
            try:
                reply = await self._process(incoming)
            except Exception:
                log.exception(
                    "handling %s message %s failed", incoming.channel, incoming.platform_message_id
                )
                reply = await self._apologize(incoming)
        if not reply.duplicate:
            for listener in self.listeners:
                try:
                    await listener(reply)
                except Exception:
                    log.exception("event listener failed")
        return reply

    async def _process(self, incoming: Incoming) -> Reply:
        try:
            async with transaction(self.sessions) as session:
                return await self._handle(session, incoming)
        except IntegrityError:
            # another process stored the same delivery (or customer) first: the second
            # attempt sees its rows and answers as a duplicate
            log.info("concurrent delivery of %s, retrying", incoming.platform_message_id)
            async with transaction(self.sessions) as session:
                return await self._handle(session, incoming)

    async def _apologize(self, incoming: Incoming) -> Reply:
        """After an internal error: keep the message, say sorry, and bring in a person."""
        at = incoming.at or self.clock()
        async with transaction(self.sessions) as session:
            return await apologize(
                session=session, incoming=incoming, at=at, stale_before=at - SEND_LEASE
            )

    async def _handle(self, session: AsyncSession, incoming: Incoming) -> Reply:
        at = incoming.at or self.clock()
        # another process handling this customer's message goes first (PostgreSQL; a new
        # customer is not locked, but a second insert fails and the retry takes the lock)
        await queries.lock_customer(
            session=session, channel=incoming.channel, external_id=incoming.customer_ref
        )
        customer = await queries.get_or_create_customer(
            session=session,
            channel=incoming.channel,
            external_id=incoming.customer_ref,
            display_name=incoming.display_name,
            language=languages.normalize(incoming.language_hint),
        )
        assert customer.id is not None
        duplicate = await duplicate_reply(
            session=session,
            customer_id=customer.id,
            incoming=incoming,
            stale_before=self.clock() - SEND_LEASE,
        )
        if duplicate is not None:
            return duplicate
        if incoming.kind != "trigger":  # an API start is not the customer writing to us
            customer.last_inbound_at = at
        events: list[tuple[int | None, Event]] = []
        running = await self._running(session, customer.id, at, events)

        starting = self._flow_to_start(incoming, running)
        if starting is not None and running is not None:
            closed = running.state.evolve(status="abandoned", step_id=None)
            save_state(running.conversation, closed, at)
            events.append((running.conversation.id, InterviewAbandoned("restarted")))
            running = None
        conversation = running.conversation if running else None
        inbound_row = await store_inbound(
            session=session,
            customer_id=customer.id,
            conversation=conversation,
            incoming=incoming,
        )

        outcome: Outcome | None = None
        notes: list[Outbound] = []
        if starting is not None:
            conversation, outcome = await self._start(session, customer, starting, incoming, at)
            inbound_row.conversation_id = conversation.id
        elif incoming.kind == "trigger":
            pass  # an API start that could not start (busy, unknown flow): nothing to say
        elif running is not None:
            if incoming.kind == "unsupported" and running.conversation.status == "active":
                notes.append(unsupported(running.state.language))
            else:
                outcome = engine.advance(
                    running.flow.flow, running.state, engine_inbound(incoming, at)
                )
                save_state(running.conversation, outcome.state, at)
        else:
            notes.append(
                welcome(self.registry, incoming.text, incoming.language_hint, customer.language)
            )

        if outcome is not None and conversation is not None:
            events.extend((conversation.id, e) for e in outcome.events)
            record_outcome(
                session=session,
                customer_id=customer.id,
                conversation=conversation,
                outcome=outcome,
                at=at,
            )
            customer.language = outcome.state.language  # remembered for the next welcome
        await session.flush()
        conversation_id = conversation.id if conversation else None
        messages = await store_replies(
            session=session,
            customer_id=customer.id,
            conversation_id=conversation_id,
            channel=incoming.channel,
            reply_to=inbound_row,
            messages=[*(outcome.outbound if outcome else ()), *notes],
        )
        for conversation_ref, event in events:
            queries.append_events(
                session=session,
                conversation_id=conversation_ref,
                events=[(event.name, event.data())],
                at=at,
            )
        await session.flush()
        return Reply(
            messages,
            conversation_id=conversation_id,
            customer_id=customer.id,
            events=tuple((e.name, e.data()) for _, e in events),
        )

    async def _running(
        self,
        session: AsyncSession,
        customer_id: int,
        at: datetime,
        events: list[tuple[int | None, Event]],
    ) -> _Open | None:
        """The customer's open interview, closed first if its reply timeout has passed."""
        conversation = await queries.open_conversation(session=session, customer_id=customer_id)
        if conversation is None:
            return None
        flow = await self._pinned_flow(session, conversation)
        state = ConversationState.from_json(conversation.state)
        if engine.is_expired(flow.flow, state, at):
            expired = engine.expire(flow.flow, state, at)
            save_state(conversation, expired.state, at)
            events.extend((conversation.id, e) for e in expired.events)
            return None
        return _Open(conversation, flow, state)

    def _flow_to_start(self, incoming: Incoming, running: _Open | None) -> LoadedFlow | None:
        handed_off = running is not None and running.conversation.status == "handed_off"
        if handed_off and not incoming.restart:
            return None  # an agent has this customer: a /start or menu click goes to them
        if incoming.kind == "trigger" and running is not None:
            return None  # an API start never interrupts an interview under way
        if incoming.flow_id is not None:
            return self.registry.current(incoming.flow_id)
        if incoming.command == "start" and running is not None:
            return self.registry.current(running.conversation.flow_id)  # /start: from the top
        if incoming.command == "start":
            flows = self.registry.all()
            return self.registry.current("nps") or (flows[0] if flows else None)
        if running is None and incoming.text:
            return self.registry.triggered_by(incoming.text)
        return None

    async def _pinned_flow(self, session: AsyncSession, conversation: Conversation) -> LoadedFlow:
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

    async def _start(
        self,
        session: AsyncSession,
        customer: Customer,
        loaded: LoadedFlow,
        incoming: Incoming,
        at: datetime,
    ) -> tuple[Conversation, Outcome]:
        flow = loaded.flow
        await queries.save_flow_version(
            session=session, flow_id=flow.id, version=loaded.version, source=loaded.source
        )
        hints = (incoming.language_hint, customer.language, written_in(incoming.text))
        outcome = engine.start(
            flow,
            version=loaded.version,
            at=at,
            language_hints=hints,
            variables={"customer_name": customer.display_name or "", "channel": incoming.channel},
        )
        assert customer.id is not None
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
            started_at=at,
            updated_at=at,
        )
        session.add(conversation)
        await session.flush()
        return conversation, outcome

    async def claim(self, message_ids: Sequence[int]) -> list[int]:
        """Take outbound messages for sending; only the ids returned may be sent by the caller.

        Two processes answering the same redelivered update both ask; one gets the messages.
        A claim older than SEND_LEASE (the sender crashed) can be taken over.
        """
        if not message_ids:
            return []
        async with transaction(self.sessions) as session:
            return await queries.claim_outbound(
                session=session, message_ids=message_ids, now=self.clock(), lease=SEND_LEASE
            )

    async def mark_sent(self, message_id: int, platform_message_id: str | None = None) -> None:
        """Record that an outbound message reached the customer's platform."""
        async with transaction(self.sessions) as session:
            await queries.mark_delivered(
                session=session,
                message_id=message_id,
                platform_message_id=platform_message_id,
                at=self.clock(),
            )

    async def mark_failed(self, message_id: int, error: str) -> None:
        """Record that an outbound message could not be delivered."""
        async with transaction(self.sessions) as session:
            await queries.mark_failed(session=session, message_id=message_id, error=error)

    async def abandon(self, conversation_id: int, reason: str) -> bool:
        """Close a running interview early (its first question could not be delivered);
        True when it was running."""
        now = self.clock()
        async with (
            self._sqlite_writer or contextlib.nullcontext(),
            transaction(self.sessions) as session,
        ):
            conversation = await queries.lock_conversation_owner(
                session=session, conversation_id=conversation_id
            )
            if conversation is None or conversation.status != "active":
                return False
            state = ConversationState.from_json(conversation.state)
            save_state(conversation, state.evolve(status="abandoned", step_id=None), now)
            event = InterviewAbandoned(reason)
            queries.append_events(
                session=session,
                conversation_id=conversation_id,
                events=[(event.name, event.data())],
                at=now,
            )
            return True

    async def expire_idle(self) -> int:
        """Close interviews whose reply timeout passed; return how many."""
        now = self.clock()
        async with self.sessions() as session:
            candidates = await queries.idle_conversations(
                session=session, before=now - timedelta(minutes=1)
            )
        closed = 0
        for candidate in candidates:
            assert candidate.id is not None
            async with (
                self._sqlite_writer or contextlib.nullcontext(),
                transaction(self.sessions) as session,
            ):
                # each one on its own, under its customer's lock: a message arriving now
                # either lands first (and the interview is no longer idle) or waits
                conversation = await queries.lock_conversation_owner(
                    session=session, conversation_id=candidate.id
                )
                if conversation is None or conversation.status != "active":
                    continue
                flow = await self._pinned_flow(session, conversation)
                state = ConversationState.from_json(conversation.state)
                outcome = engine.expire(flow.flow, state, now)
                if outcome.events:
                    save_state(conversation, outcome.state, now)
                    queries.append_events(
                        session=session,
                        conversation_id=conversation.id,
                        events=[(e.name, e.data()) for e in outcome.events],
                        at=now,
                    )
                    closed += 1
        return closed


__all__ = [
    "SLA",
    "ConversationService",
    "History",
    "Incoming",
    "Reply",
    "history",
    "outbound_from_row",
]
