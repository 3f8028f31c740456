"""The conversation service: the one place where channels, the engine and storage meet.

For each inbound message: lock the customer, dedupe by platform id, load the
conversation, run the engine, save state + transcript + answers + events in one
transaction, and return what to send. Channels send it and report delivery back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import engine, texts
from flows import language as languages
from flows.events import (
    AnswerRecorded,
    EscalationRequested,
    Event,
    InterviewAbandoned,
    MetricRecorded,
)
from flows.loader import LoadedFlow
from flows.registry import FlowRegistry
from flows.state import Button, ConversationState, Inbound, Outbound, Outcome
from storage import queries
from storage.database import Sessions, transaction
from storage.models import Answer, Conversation, Customer, Escalation, Message

log = logging.getLogger(__name__)

SLA = {
    "urgent": timedelta(minutes=15),
    "high": timedelta(hours=1),
    "normal": timedelta(hours=4),
    "low": timedelta(hours=24),
}
"""How soon an agent must answer an escalation of each priority."""

Kind = Literal["text", "button", "command", "unsupported"]


@dataclass(frozen=True)
class Incoming:
    """A customer's message as a channel hands it over."""

    channel: str
    customer_ref: str
    """The customer's id on the platform (Telegram chat id, WeChat openid, web visitor id)."""
    kind: Kind = "text"
    text: str = ""
    button: str | None = None
    command: Literal["start", "stop", "human"] | None = None
    flow_id: str | None = None
    """Start this flow (a deep link, a menu key, the web chat page)."""
    restart: bool = False
    """Start even when an agent has taken the conversation over (an explicit "start again")."""
    platform_message_id: str | None = None
    language_hint: str | None = None
    display_name: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Reply:
    """What the service decided: the messages to send (already stored as pending)."""

    messages: tuple[tuple[int, Outbound], ...]
    """(message row id, message) pairs."""
    duplicate: bool = False
    conversation_id: int | None = None
    customer_id: int | None = None
    events: tuple[tuple[str, dict[str, Any]], ...] = ()
    undelivered: tuple[int, ...] = ()
    """On a duplicate: ids of messages never marked sent (a crash before sending); resend them."""


Listener = Callable[[Reply], Awaitable[None]]

UNSUPPORTED = {
    "zh": "抱歉，我只能读懂文字消息。请用文字回复。",
    "en": "Sorry, I can only read text messages. Please reply in words.",
}
WELCOME = {
    "zh": "您好！回复“{keyword}”即可参与我们的简短调查。",
    "en": "Hi! Reply “{keyword}” to take our short survey.",
}
QUIET = {
    "zh": "您好！目前没有进行中的调查。",
    "en": "Hi! There is no survey running right now.",
}


def _written_in(text: str) -> str | None:
    """The language of a message, counting a lone Latin word ("feedback", "hi") as English."""
    detected = languages.detect(text) if text else None
    if detected is None and re.search(r"[A-Za-z]{2}", text) and not text.startswith("/"):
        return "en"
    return detected


def _outbound_payload(message: Outbound) -> dict[str, Any]:
    return {
        "buttons": [{"label": b.label, "payload": b.payload} for b in message.buttons],
        "hint": message.hint,
        "step_id": message.step_id,
    }


def outbound_from_row(row: Message) -> Outbound:
    """The message a stored outbound row holds."""
    payload = row.payload or {}
    buttons = tuple(Button(b["label"], b["payload"]) for b in payload.get("buttons", []))
    return Outbound(row.text, buttons, payload.get("hint", ""), payload.get("step_id"))


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
        return self._locks[hash((channel, ref)) % len(self._locks)]

    async def handle(self, incoming: Incoming) -> Reply:
        """Process one inbound message exactly once and return the messages to send."""
        lock = self._lock(incoming.channel, incoming.customer_ref)
        async with lock, self._sqlite_writer or contextlib.nullcontext():
            try:
                async with transaction(self.sessions) as session:
                    reply = await self._handle(session, incoming)
            except IntegrityError:
                # another process stored the same delivery (or customer) first: the second
                # attempt sees its rows and answers as a duplicate
                log.info("concurrent delivery of %s, retrying", incoming.platform_message_id)
                async with transaction(self.sessions) as session:
                    reply = await self._handle(session, incoming)
        if not reply.duplicate:
            for listener in self.listeners:
                try:
                    await listener(reply)
                except Exception:
                    log.exception("event listener failed")
        return reply

    async def _handle(self, session: AsyncSession, incoming: Incoming) -> Reply:
        at = incoming.at or self.clock()
        customer = await queries.get_or_create_customer(
            session=session,
            channel=incoming.channel,
            external_id=incoming.customer_ref,
            display_name=incoming.display_name,
            language=languages.normalize(incoming.language_hint),
        )
        assert customer.id is not None
        if incoming.platform_message_id is not None:
            seen = await queries.find_inbound(
                session=session,
                channel=incoming.channel,
                platform_message_id=incoming.platform_message_id,
            )
            if seen is not None and seen.id is not None:
                rows = await queries.replies_to(session=session, message_id=seen.id)
                return Reply(
                    tuple((row.id or 0, outbound_from_row(row)) for row in rows),
                    duplicate=True,
                    conversation_id=seen.conversation_id,
                    customer_id=customer.id,
                    undelivered=tuple(
                        row.id for row in rows if row.id and row.delivery_state == "pending"
                    ),
                )
        customer.last_inbound_at = at
        events: list[tuple[int | None, Event]] = []
        conversation = await queries.open_conversation(session=session, customer_id=customer.id)
        flow: LoadedFlow | None = None
        state: ConversationState | None = None
        if conversation is not None:
            flow = await self._pinned_flow(session, conversation)
            state = ConversationState.from_json(conversation.state)
            if engine.is_expired(flow.flow, state, at):
                expired = engine.expire(flow.flow, state, at)
                self._save_state(conversation, expired.state, at)
                events.extend((conversation.id, e) for e in expired.events)
                conversation, flow, state = None, None, None

        starting = self._flow_to_start(incoming, conversation is not None)
        if conversation and conversation.status == "handed_off" and not incoming.restart:
            starting = None  # an agent has this customer: a /start or menu click goes to them
        if starting is not None and conversation is not None and state is not None:
            closed = state.evolve(status="abandoned", step_id=None)
            self._save_state(conversation, closed, at)
            events.append((conversation.id, InterviewAbandoned("restarted")))
            conversation = None

        inbound_row = queries.add_message(
            session=session,
            customer_id=customer.id,
            conversation_id=conversation.id if conversation else None,
            channel=incoming.channel,
            direction="in",
            author="customer",
            text=incoming.text
            or (f"/{incoming.command}" if incoming.command else "")
            or await self._button_label(session, conversation, incoming.button),
            payload={
                key: value
                for key, value in (("button", incoming.button), ("command", incoming.command))
                if value
            },
            platform_message_id=incoming.platform_message_id,
        )
        outcome: Outcome | None = None
        fallback: list[Outbound] = []
        if starting is not None:
            conversation, outcome = await self._start(session, customer, starting, incoming, at)
            inbound_row.conversation_id = conversation.id
        elif conversation is not None and flow is not None and state is not None:
            if incoming.kind == "unsupported" and conversation.status == "active":
                fallback.append(Outbound(UNSUPPORTED.get(state.language, UNSUPPORTED["en"])))
            else:
                command = incoming.command if incoming.command in ("stop", "human") else None
                outcome = engine.advance(
                    flow.flow,
                    state,
                    Inbound(
                        at=at,
                        text=incoming.text or None,
                        button=incoming.button,
                        command=command,
                        language_hint=incoming.language_hint,
                    ),
                )
                self._save_state(conversation, outcome.state, at)
        else:
            fallback.append(self._welcome(incoming))

        if outcome is not None and conversation is not None:
            events.extend((conversation.id, e) for e in outcome.events)
            self._record(session, customer, conversation, outcome, at)
        await session.flush()
        conversation_id = conversation.id if conversation else None
        out_rows = [
            queries.add_message(
                session=session,
                customer_id=customer.id,
                conversation_id=conversation_id,
                channel=incoming.channel,
                direction="out",
                author="bot",
                text=message.text,
                payload=_outbound_payload(message),
                reply_to_id=inbound_row.id,
                delivery_state="pending",
            )
            for message in [*(outcome.outbound if outcome else ()), *fallback]
        ]
        stored_events = [(e.name, e.data()) for _, e in events]
        for conversation_ref, event in events:
            queries.append_events(
                session=session,
                conversation_id=conversation_ref,
                events=[(event.name, event.data())],
                at=at,
            )
        await session.flush()
        return Reply(
            tuple((row.id or 0, outbound_from_row(row)) for row in out_rows),
            conversation_id=conversation_id,
            customer_id=customer.id,
            events=tuple(stored_events),
        )

    def _flow_to_start(self, incoming: Incoming, has_open: bool) -> LoadedFlow | None:
        if incoming.flow_id is not None:
            return self.registry.current(incoming.flow_id)
        if incoming.command == "start" and not has_open:
            flows = self.registry.all()
            return self.registry.current("nps") or (flows[0] if flows else None)
        if not has_open and incoming.text:
            return self.registry.triggered_by(incoming.text)
        return None

    async def _button_label(
        self, session: AsyncSession, conversation: Conversation | None, payload: str | None
    ) -> str:
        """What the tapped button said (the transcript shows "9", not an empty message)."""
        if payload is None or conversation is None or conversation.id is None:
            return ""
        for row in await queries.recent_outbound(session=session, conversation_id=conversation.id):
            for button in (row.payload or {}).get("buttons", []):
                if button.get("payload") == payload:
                    return str(button.get("label", ""))
        return ""

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
        hints = (incoming.language_hint, customer.language, _written_in(incoming.text))
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

    def _save_state(
        self, conversation: Conversation, state: ConversationState, at: datetime
    ) -> None:
        conversation.state = state.to_json()
        conversation.status = state.status
        conversation.language = state.language
        conversation.updated_at = at
        if state.status in ("completed", "abandoned") and conversation.ended_at is None:
            conversation.ended_at = at

    def _record(
        self,
        session: AsyncSession,
        customer: Customer,
        conversation: Conversation,
        outcome: Outcome,
        at: datetime,
    ) -> None:
        assert conversation.id is not None and customer.id is not None
        metrics = {e.step_id: e for e in outcome.events if isinstance(e, MetricRecorded)}
        for event in outcome.events:
            if isinstance(event, AnswerRecorded):
                metric = metrics.get(event.step_id)
                session.add(
                    Answer(
                        conversation_id=conversation.id,
                        flow_id=conversation.flow_id,
                        step_id=event.step_id,
                        variable=event.variable,
                        metric=metric.metric if metric else None,
                        score=metric.value if metric else None,
                        scale_low=metric.low if metric else None,
                        scale_high=metric.high if metric else None,
                        text=None
                        if metric
                        else (None if event.value is None else str(event.value)),
                        channel=conversation.channel,
                        language=outcome.state.language,
                        touchpoint=conversation.touchpoint,
                        created_at=at,
                    )
                )
            elif isinstance(event, EscalationRequested):
                session.add(
                    Escalation(
                        conversation_id=conversation.id,
                        customer_id=customer.id,
                        reason=event.reason,
                        priority=event.priority,
                        due_at=at + SLA.get(event.priority, SLA["normal"]),
                        created_at=at,
                    )
                )

    def _welcome(self, incoming: Incoming) -> Outbound:
        language = languages.choose(
            ["zh", "en"],
            "zh",
            incoming.language_hint,
            _written_in(incoming.text),
        )
        flows = sorted(self.registry.all(), key=lambda f: f.flow.id != "nps")  # nps first
        keywords = [k for f in flows for k in f.flow.start.keywords]
        if not keywords:
            return Outbound(QUIET[language])
        preferred = [k for k in keywords if (languages.detect(k) == "zh") == (language == "zh")]
        keyword = (preferred or keywords)[0]
        return Outbound(texts.fill(WELCOME[language], {"keyword": keyword}))

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

    async def expire_idle(self) -> int:
        """Close interviews whose reply timeout passed; return how many."""
        now = self.clock()
        closed = 0
        async with transaction(self.sessions) as session:
            for conversation in await queries.idle_conversations(
                session=session, before=now - timedelta(minutes=1)
            ):
                flow = await self._pinned_flow(session, conversation)
                state = ConversationState.from_json(conversation.state)
                outcome = engine.expire(flow.flow, state, now)
                if outcome.events:
                    self._save_state(conversation, outcome.state, now)
                    queries.append_events(
                        session=session,
                        conversation_id=conversation.id,
                        events=[(e.name, e.data()) for e in outcome.events],
                        at=now,
                    )
                    closed += 1
        return closed


def plain_lines(messages: Sequence[tuple[int, Outbound]]) -> list[str]:
    """Messages as text for channels without buttons."""
    return [message.as_plain_text() for _, message in messages]


__all__ = ["SLA", "ConversationService", "Incoming", "Reply", "plain_lines"]


@dataclass(frozen=True)
class History:
    """A customer's recent messages and the interview they are in (for the web chat)."""

    messages: tuple[Message, ...]
    flow_id: str | None
    status: str | None


async def history(
    service: ConversationService, *, channel: str, customer_ref: str, after_id: int = 0
) -> History:
    """What a returning customer should see: messages after `after_id` and the open interview."""
    async with service.sessions() as session:
        customer = await queries.find_customer(
            session=session, channel=channel, external_id=customer_ref
        )
        if customer is None or customer.id is None:
            return History((), None, None)
        rows = await queries.customer_messages(
            session=session, customer_id=customer.id, after_id=after_id
        )
        conversation = await queries.open_conversation(session=session, customer_id=customer.id)
    return History(
        tuple(rows),
        conversation.flow_id if conversation else None,
        conversation.status if conversation else None,
    )
