"""The channel interface: what a channel hands the conversation service, what it gets back,
and what it must offer the delivery path.

Channels (`bot/`) import this module, `flows` and their platform libraries — never
`storage` or `cxbot`. The app (`cxbot/`) implements the service, the delivery path and the
small stores a channel needs (replay nonces, shared access tokens) and hands them to each
channel when it builds it. A test enforces those imports (tests/test_layers.py).

Exceptions a sender raises (all `DeliveryError`):

    DeliveryError         the message was not delivered
    ├── Undeliverable     it never will be (blocked, bad address, refused): marked failed
    └── RetryLater        not now (rate limit, network): tried again after `seconds`
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from flows.state import Outbound

Kind = Literal["text", "button", "command", "unsupported", "trigger"]
"""`trigger`: not the customer's message but an integrator's API call starting an interview."""

Replies = Literal["send", "inline"]
"""How the caller delivers the replies: `send` through the delivery path (claimed for this
process at once), `inline` in its own HTTP response (web chat, terminal: stored as sent)."""


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
    replies: Replies = "send"
    keyboards: bool = False
    """The channel shows buttons that stay until removed (Telegram): the reply then names the
    message whose buttons a typed answer makes obsolete, and flags taps on old ones."""
    request_digest: str | None = None
    """A digest of the request behind a `trigger` (its idempotency key must not be reused
    for another request)."""


@dataclass(frozen=True)
class Reply:
    """What the service decided: the messages to send (already stored, and claimed for this
    process when `Incoming.replies` is `send`)."""

    messages: tuple[tuple[int, Outbound], ...]
    """(message row id, message) pairs."""
    duplicate: bool = False
    conversation_id: int | None = None
    customer_id: int | None = None
    events: tuple[tuple[str, dict[str, Any]], ...] = ()
    undelivered: tuple[int, ...] = ()
    """On a duplicate: ids of messages never sent whose sender is gone; this caller has
    claimed them (resend them)."""
    stale: bool = False
    """A tap on a keyboard whose question is no longer waiting: nothing was stored."""
    obsolete_keyboard: str | None = None
    """With `Incoming.keyboards`: the platform id of the message whose buttons the typed
    answer made obsolete (remove them)."""
    passive: tuple[int, ...] = ()
    """On a duplicate: ids of messages delivered inline before (a passive reply to repeat)."""
    held_since: datetime | None = None
    """When this caller's claim on the messages it holds was taken (its lease runs from then)."""
    recipient: Recipient | None = None
    """Where the messages go (the delivery path needs no look-up for them)."""
    refused: str | None = None
    """Why nothing was done: `busy` (an interview or an agent is under way), `conflict` (an
    idempotency key reused for another request)."""

    def to_send(self) -> tuple[tuple[int, Outbound], ...]:
        """The messages this caller holds and must deliver (all of a new reply; on a
        duplicate only the undelivered ones)."""
        if not self.duplicate:
            return self.messages
        return tuple(m for m in self.messages if m[0] in self.undelivered)


@dataclass(frozen=True)
class Line:
    """One message of a customer's transcript, as a chat page shows it."""

    id: int
    direction: Literal["in", "out"]
    author: str
    message: Outbound
    command: bool = False
    """A command the customer sent (`/start`), which a chat page does not show."""


@dataclass(frozen=True)
class History:
    """A customer's recent messages and the interview they are in (for the web chat)."""

    lines: tuple[Line, ...]
    flow_id: str | None
    """The flow of the open interview, if any."""
    status: str | None
    """The open interview's status (`active`, `handed_off`)."""
    flow_status: str | None = None
    """How the customer's latest interview on the asked-about flow stands, whatever it is."""


def digest(*parts: str) -> str:
    """A short stable digest of a request's parts (for idempotency checks and log ids)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:16]


def pseudonym(ref: object) -> str:
    """A short hash of a platform id for log lines (no personal data in logs)."""
    return "#" + hashlib.sha256(str(ref).encode("utf-8", "replace")).hexdigest()[:10]


class Unavailable(Exception):
    """The service cannot take the message now (its database is unavailable): nothing was
    stored; the channel answers so that the platform delivers it again (503)."""


class DeliveryError(Exception):
    """A message was not delivered."""


class Undeliverable(DeliveryError):
    """The message will never be delivered (blocked, unknown chat, refused by the platform)."""


class RetryLater(DeliveryError):
    """The platform cannot take the message now; try again after `seconds`."""

    def __init__(self, reason: str, seconds: float) -> None:
        super().__init__(reason)
        self.seconds = seconds


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to, as the delivery path tells a sender."""

    channel: str
    address: str
    """The customer's platform id (chat id, openid)."""
    last_inbound_at: datetime | None = None


class Sender(Protocol):
    """A channel's half of the delivery path: one platform call per `send`."""

    channel: str
    route: str
    """How it reaches the customer, recorded on each sent row as `via` (`customer_service`)."""
    batch: bool
    """True when one platform call carries several messages joined (WeChat's customer-service
    text); False when each message is its own call, in order (Telegram)."""
    window: timedelta | None
    """How long after the customer's last message the platform accepts sends (None: always)."""
    quota: int | None
    """How many sends the platform accepts per customer message (None: no such limit)."""

    def unreachable(self, address: str) -> str | None:
        """Why this address can never be reached on this channel (its shape), or None."""
        ...

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> str | None:
        """Deliver the messages (one, unless `batch`); return the platform's message id.

        Raises Undeliverable or RetryLater.
        """
        ...


@dataclass(frozen=True)
class Report:
    """What became of a delivery."""

    sent: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()
    deferred: tuple[int, ...] = ()
    """Handed back to the queue (rate limit, network): the sweeper sends them later."""
    error: str | None = None

    @property
    def complete(self) -> bool:
        """True when every message was sent."""
        return not self.failed and not self.deferred


class Service(Protocol):
    """The conversation service, as channels see it."""

    async def handle(self, incoming: Incoming) -> Reply:
        """Process one inbound message exactly once and return the messages to send."""
        ...


class Transcripts(Protocol):
    """What a chat page reads back."""

    async def history(
        self, *, channel: str, customer_ref: str, after_id: int = 0, flow_id: str | None = None
    ) -> History:
        """The customer's messages after `after_id` and the open interview."""
        ...


class Outbox(Protocol):
    """The delivery path, as channels see it."""

    async def deliver(self, reply: Reply) -> Report:
        """Send the messages a reply holds for this caller through their channel's sender."""
        ...

    async def delivered_inline(self, message_ids: Sequence[int], *, via: str) -> None:
        """Record messages this caller holds as delivered in its own HTTP response."""
        ...


class NonceStore(Protocol):
    """Replay protection for signed webhooks, shared by every app process."""

    async def first_use(
        self, channel: str, *, timestamp: int, nonce: str, body: str, now: float
    ) -> bool:
        """Record (timestamp, nonce) for this body; False if it came before with another."""
        ...


class TokenSource(Protocol):
    """A platform access token shared by every app process."""

    async def access_token(self, *, rejected: str | None = None) -> str:
        """A valid token; a fresh one when `rejected` is the current one."""
        ...


Hook = Callable[[], Awaitable[None]]
