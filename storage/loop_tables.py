"""The closed loop's outbound tables: how far the notifier read the events, which case
changes were announced, the webhook URLs admins registered, and the durable queue of webhook
deliveries and agent notices (migration 0013)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import utcnow


class EventCursor(SQLModel, table=True):
    """How far a reader of the `event` table got: every event up to `last_id` was handled,
    except the ids in `holes` — ids above an earlier cursor that were not visible yet (on
    PostgreSQL a transaction may commit a lower id after a higher one); each hole is looked
    for again until it turns up or is older than a transaction can last (migration 0013)."""

    __tablename__ = "event_cursor"
    name: str = Field(primary_key=True, max_length=64)
    last_id: int = 0
    holes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """Missing event id -> when it was first missed (ISO time)."""
    updated_at: datetime = Field(default_factory=utcnow)


class LoopSignal(SQLModel, table=True):
    """That an escalation's change of one kind (opened, overdue, resolved) was announced:
    the primary key makes the announcement happen once, whichever process sees it first."""

    __tablename__ = "loop_signal"
    escalation_id: int = Field(primary_key=True, foreign_key="escalation.id")
    kind: str = Field(primary_key=True, max_length=16)
    """opened, overdue or resolved."""
    created_at: datetime = Field(default_factory=utcnow)


class WebhookEndpoint(SQLModel, table=True):
    """A URL an admin registered to receive signed JSON for some events."""

    __tablename__ = "webhook_endpoint"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """The event names sent to it (`escalation.opened`, ...)."""
    secret: str = Field(max_length=64)
    """The HMAC-SHA256 key its deliveries are signed with (shown to the admin once)."""
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str | None = Field(default=None, max_length=64)
    removed_at: datetime | None = None
    """Removed endpoints get nothing more; their history stays."""
    last_status: str | None = Field(default=None, max_length=200)
    """What the last attempt got: an HTTP status or why it failed."""
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None


class Dispatch(SQLModel, table=True):
    """One call to make outside cxbot (a webhook delivery, a notice to the agents' Telegram
    group or WeCom robot): a durable queue claimed with a lease, retried with backoff. The
    unique (target, key) makes queuing the same announcement twice a no-op."""

    __tablename__ = "dispatch"
    __table_args__ = (
        UniqueConstraint("target", "key", name="uq_dispatch_target_key"),
        Index("ix_dispatch_due", "state", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=32)
    """`webhook:<endpoint id>`, `telegram` or `wecom`."""
    endpoint_id: int | None = Field(default=None, foreign_key="webhook_endpoint.id", index=True)
    key: str = Field(max_length=128)
    """What is announced, e.g. `escalation.opened:12` or `event:345`."""
    event: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=16)
    """pending (until `next_attempt_at`), sending (held until `claimed_at` + lease), sent
    or failed."""
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = None
    last_status: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
