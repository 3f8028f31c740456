"""SQLModel tables: customers, conversations, the transcript, answers, events, escalations.

Every inbound and outbound message is a row with its platform id and delivery state;
events are stored so later features (dashboards, notifications) can read them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from storage import search_index


def utcnow() -> datetime:
    """The current time, timezone-aware (storage needs aware datetimes)."""
    return datetime.now(UTC)


class Customer(SQLModel, table=True):
    """A person as one channel knows them (a Telegram chat, a WeChat openid, a web visitor)."""

    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_customer_identity"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32, index=True)
    external_id: str = Field(max_length=128)
    display_name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    last_inbound_at: datetime | None = None


class FlowVersion(SQLModel, table=True):
    """The exact text of every flow version a conversation ever ran on."""

    flow_id: str = Field(primary_key=True, max_length=64)
    version: str = Field(primary_key=True, max_length=32)
    source: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    """One interview with one customer, pinned to the flow version it started on."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    channel: str = Field(max_length=32, index=True)
    flow_id: str = Field(max_length=64, index=True)
    flow_version: str = Field(max_length=32)
    touchpoint: str = Field(max_length=64, index=True)
    journey_stage: str = Field(max_length=32)
    language: str = Field(max_length=16)
    status: str = Field(max_length=16, index=True)
    """active, completed, abandoned or handed_off."""
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    expires_at: datetime | None = Field(default=None, index=True)
    """While active: when the flow's reply timeout passes (the idle sweep's index)."""
    answered_at: datetime | None = None
    """When the first answer was recorded (the dashboard's "responded"), set by the writer."""


class Message(SQLModel, table=True):
    """One message of the transcript, either direction; outbound rows double as the outbox."""

    __table_args__ = (
        UniqueConstraint(
            "channel", "direction", "platform_message_id", name="uq_message_platform_id"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    channel: str = Field(max_length=32)
    direction: str = Field(max_length=3)
    """`in` from the customer, `out` to the customer."""
    platform_message_id: str | None = Field(default=None, max_length=128)
    """The platform's id (Telegram update_id, WeChat MsgId, a web client's id); dedupes retries."""
    reply_to_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    """For outbound rows: the inbound message they answer."""
    author: str = Field(default="customer", max_length=16)
    """customer, bot or agent."""
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """Buttons, hints, the tapped button's payload."""
    delivery_state: str = Field(default="received", max_length=16, index=True)
    """received (inbound); pending, sending, sent or failed (outbound)."""
    claimed_at: datetime | None = None
    """When the sender holding this outbound message took it or last renewed its lease; a
    lease that ran out (the sender died) lets another sender take it over."""
    retry_at: datetime | None = None
    """For a pending message handed back to the queue: not to be tried before this time."""
    attempts: int = 0
    """How often a sender took this message (give up after a limit)."""
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = None


class Answer(SQLModel, table=True):
    """One recorded answer; scale answers carry their metric for SQL aggregates."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    flow_id: str = Field(max_length=64, index=True)
    step_id: str = Field(max_length=64)
    variable: str = Field(max_length=64)
    metric: str | None = Field(default=None, max_length=32, index=True)
    score: int | None = None
    scale_low: int | None = None
    scale_high: int | None = None
    text: str | None = Field(default=None, sa_column=Column(Text))
    channel: str = Field(max_length=32)
    language: str = Field(max_length=16)
    touchpoint: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    journey_stage: str = Field(default="", max_length=32)
    """The conversation's journey stage, copied so the dashboard filters without a join."""


class Event(SQLModel, table=True):
    """An engine or service event, appended in the same transaction as the state."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    name: str = Field(max_length=64, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Escalation(SQLModel, table=True):
    """A request for a human: reason, priority, deadline, and later its outcome. At most one
    per conversation is open, assigned or waiting (a partial unique index, migration 0012)."""

    __table_args__ = (
        Index(
            "uq_escalation_one_open",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'assigned', 'waiting')"),
            postgresql_where=text("status IN ('open', 'assigned', 'waiting')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    reason: str = Field(max_length=64)
    priority: str = Field(max_length=16)
    status: str = Field(default="open", max_length=16, index=True)
    """open, assigned, waiting, resolved or closed."""
    due_at: datetime = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    """When the case was resolved or closed."""
    outcome: str | None = Field(default=None, max_length=200)
    """The outcome code a resolving agent chose (`storage.desk.OUTCOMES`)."""
    assigned_user_id: int | None = None
    """The admin user who claimed the case (no foreign key: a removed user's cases stay)."""
    assigned_name: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    first_reply_at: datetime | None = None
    """When an agent's first reply to the customer was stored (the SLA's answer)."""
    note: str | None = Field(default=None, sa_column=Column(Text))
    """The resolving agent's note."""
    closing_asked_at: datetime | None = None
    """When the closing question ("Was your issue resolved?") was sent."""
    closing_answer: str | None = Field(default=None, max_length=8)
    """The customer's answer to the closing question: yes, no, or NULL (none)."""
    updated_at: datetime | None = None
    unattended_at: datetime | None = Field(default=None, index=True)
    """When the customer is told that nobody has picked the case up yet, unless an agent
    replied before (never before `due_at`); see cxbot/handoff.py."""
    unattended_told_at: datetime | None = None
    """When the customer was told so (once)."""


class AnswerTally(SQLModel, table=True):
    """How many NPS / CES / CSAT answers gave each score, per UTC day and per everything the
    dashboard filters on. Kept by database triggers on `answer` (migration 0009), so the
    dashboard sums a few ten thousand rows instead of scanning every answer. On SQLite a
    WITHOUT ROWID table, and each index is in the order of one query's GROUP BY, so no query
    sorts (see docs/performance.md)."""

    __tablename__ = "answer_tally"
    __table_args__ = (
        Index(
            "ix_answer_tally_slices",
            "flow_id",
            "touchpoint",
            "journey_stage",
            "channel",
            "language",
            "metric",
            "scale_low",
            "scale_high",
            "score",
            "answers",
        ),
        Index("ix_answer_tally_scores", "metric", "scale_low", "scale_high", "score", "answers"),
        {"sqlite_with_rowid": False},
    )
    day: str = Field(primary_key=True, max_length=10)
    """The answer's UTC date, 'YYYY-MM-DD'."""
    metric: str = Field(primary_key=True, max_length=32)
    scale_low: int = Field(primary_key=True)
    scale_high: int = Field(primary_key=True)
    score: int = Field(primary_key=True)
    flow_id: str = Field(primary_key=True, max_length=64)
    touchpoint: str = Field(primary_key=True, max_length=64)
    journey_stage: str = Field(primary_key=True, max_length=32)
    channel: str = Field(primary_key=True, max_length=32)
    language: str = Field(primary_key=True, max_length=16)
    answers: int = 0


class ConversationTally(SQLModel, table=True):
    """How many interviews started per UTC day, per filter value, status and whether they
    got an answer. Kept by database triggers on `conversation` (migration 0009)."""

    __tablename__ = "conversation_tally"
    __table_args__ = ({"sqlite_with_rowid": False},)
    day: str = Field(primary_key=True, max_length=10)
    """The interview's UTC start date, 'YYYY-MM-DD'."""
    flow_id: str = Field(primary_key=True, max_length=64)
    touchpoint: str = Field(primary_key=True, max_length=64)
    journey_stage: str = Field(primary_key=True, max_length=32)
    channel: str = Field(primary_key=True, max_length=32)
    language: str = Field(primary_key=True, max_length=16)
    status: str = Field(primary_key=True, max_length=16)
    responded: bool = Field(primary_key=True)
    """Whether the interview has a recorded answer (`conversation.answered_at` is set)."""
    conversations: int = 0


class AdminUser(SQLModel, table=True):
    """A person who signs in to the admin pages, with a role (viewer < agent < admin)."""

    __tablename__ = "admin_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    """What the person types to sign in (unique, compared as typed)."""
    role: str = Field(max_length=16)
    """viewer, agent or admin."""
    password_hash: str = Field(max_length=255)
    """An argon2id hash (argon2-cffi's PHC string); never the password."""
    disabled: bool = False
    """A disabled user cannot sign in and their sessions stop working."""
    created_at: datetime = Field(default_factory=utcnow)


class AdminSession(SQLModel, table=True):
    """A signed-in browser: the cookie carries a random id, this row its SHA-256, so signing
    out (deleting the row) really ends the session, whatever a copied cookie says."""

    __tablename__ = "admin_session"
    id: str = Field(primary_key=True, max_length=64)
    """SHA-256 (hex) of the random session id in the cookie."""
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("admin_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class ApiToken(SQLModel, table=True):
    """A bearer token for /api/v1 with a role; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    """SHA-256 (hex) of the whole token."""
    prefix: str = Field(max_length=16)
    """The token's first characters (`cxb_` + 8), to recognise it in lists."""
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str | None = Field(default=None, max_length=64)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class SignInAttempt(SQLModel, table=True):
    """Sign-in attempts per `user:<name>` or `ip:<address>` in fixed time windows: the limit
    is counted in the database, so it holds across processes and restarts."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (PrimaryKeyConstraint("subject", "window_start"),)
    subject: str = Field(max_length=200)
    window_start: datetime
    count: int = 0


class SearchTerm(SQLModel, table=True):
    """The transcript search index: a normalized term (a CJK character or pair, a case-folded
    word; see storage/terms.py) found in what a customer wrote in a conversation."""

    __tablename__ = "search_term"
    __table_args__ = {"sqlite_with_rowid": False}
    term: str = Field(primary_key=True, max_length=32)
    conversation_id: int = Field(primary_key=True, foreign_key="conversation.id")


def _search_table() -> Table:
    return SQLModel.metadata.tables["search_term"]


def _written_by_customer(message: Message) -> bool:
    return message.direction == "in" and message.author == "customer"


@event.listens_for(Message, "after_insert")
def _index_inbound(_mapper: Mapper[Message], connection: Connection, message: Message) -> None:
    """A customer's message is searchable in the transaction that stores it."""
    if _written_by_customer(message) and message.conversation_id is not None:
        search_index.insert_terms(
            connection, _search_table(), message.conversation_id, [message.text]
        )


@event.listens_for(Message, "after_update")
def _index_attached(_mapper: Mapper[Message], connection: Connection, message: Message) -> None:
    """The message that starts an interview is stored first, then given its conversation."""
    if not _written_by_customer(message) or message.conversation_id is None:
        return
    if inspect(message).attrs.conversation_id.history.added:
        search_index.insert_terms(
            connection, _search_table(), message.conversation_id, [message.text]
        )


@event.listens_for(Answer, "after_insert")
def _index_answer(_mapper: Mapper[Answer], connection: Connection, answer: Answer) -> None:
    """An open answer's text is searchable too (usually the same words as the message)."""
    if answer.text:
        search_index.insert_terms(
            connection, _search_table(), answer.conversation_id, [answer.text]
        )


class EscalationNote(SQLModel, table=True):
    """An agent's internal note on a case (never sent to the customer)."""

    __tablename__ = "escalation_note"
    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("escalation.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    author: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
