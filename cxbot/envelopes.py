"""What channels hand the conversation service, and what they get back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from flows.state import Button, Inbound, Outbound
from storage.models import Message

Kind = Literal["text", "button", "command", "unsupported", "trigger"]
"""`trigger`: not the customer's message but an integrator's API call starting an interview."""


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


def outbound_payload(message: Outbound) -> dict[str, Any]:
    """The parts of a message beyond its text, as stored on the transcript row."""
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


def engine_inbound(incoming: Incoming, at: datetime) -> Inbound:
    """What the engine needs to know of a channel's message."""
    command = incoming.command if incoming.command in ("stop", "human") else None
    return Inbound(
        at=at,
        text=incoming.text or None,
        button=incoming.button,
        command=command,
        language_hint=incoming.language_hint,
    )
