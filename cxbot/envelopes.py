"""Messages between channels, the service and storage: rows to `Outbound` and back.

`Incoming` and `Reply` are the channel interface (`bot.channel`), re-exported here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.channel import Incoming, Reply
from flows.state import Button, Inbound, Outbound
from storage.models import Message


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


__all__ = ["Incoming", "Reply", "engine_inbound", "outbound_from_row", "outbound_payload"]
