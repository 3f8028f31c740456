"""What the engine reads and writes: conversation state, inbound and outbound messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from flows.events import Event

Status = Literal["active", "completed", "abandoned", "handed_off"]
Command = Literal["stop", "human"]


@dataclass(frozen=True)
class ConversationState:
    """Where an interview stands. Stored as JSON; never mutated, only replaced."""

    flow_id: str
    flow_version: str
    language: str
    started_at: datetime
    last_activity_at: datetime
    status: Status = "active"
    step_id: str | None = None
    """The question waiting for an answer."""
    attempts: int = 0
    """Unusable answers to the current question so far."""
    answers: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    """Facts about the customer and channel: customer_name, channel."""
    escalated: bool = False
    probes: int = 0
    """Follow-ups asked on the current question after vague answers."""

    def evolve(self, **changes: Any) -> ConversationState:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data for storage."""
        return {
            "flow_id": self.flow_id,
            "flow_version": self.flow_version,
            "language": self.language,
            "started_at": self.started_at.isoformat(),
            "last_activity_at": self.last_activity_at.isoformat(),
            "status": self.status,
            "step_id": self.step_id,
            "attempts": self.attempts,
            "answers": dict(self.answers),
            "variables": dict(self.variables),
            "escalated": self.escalated,
            **({"probes": self.probes} if self.probes else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConversationState:
        """The state stored by `to_json`."""
        return cls(
            flow_id=data["flow_id"],
            flow_version=data["flow_version"],
            language=data["language"],
            started_at=datetime.fromisoformat(data["started_at"]),
            last_activity_at=datetime.fromisoformat(data["last_activity_at"]),
            status=data["status"],
            step_id=data.get("step_id"),
            attempts=data.get("attempts", 0),
            answers=dict(data.get("answers", {})),
            variables=dict(data.get("variables", {})),
            escalated=data.get("escalated", False),
            probes=data.get("probes", 0),
        )


@dataclass(frozen=True)
class Inbound:
    """One thing the customer did: typed text, tapped a button, or sent a command."""

    at: datetime
    text: str | None = None
    button: str | None = None
    """The payload of a tapped button, `step_id:value`."""
    command: Command | None = None
    language_hint: str | None = None


@dataclass(frozen=True)
class Button:
    """A tappable answer."""

    label: str
    payload: str


@dataclass(frozen=True)
class Outbound:
    """One message to the customer."""

    text: str
    buttons: tuple[Button, ...] = ()
    hint: str = ""
    """How to answer in words; channels without buttons show it after the text."""
    step_id: str | None = None

    def as_plain_text(self) -> str:
        """The message for a channel with no buttons (WeChat, SMS, the terminal)."""
        return f"{self.text}\n{self.hint}" if self.hint else self.text


@dataclass(frozen=True)
class Outcome:
    """What one engine step produced."""

    state: ConversationState
    outbound: tuple[Outbound, ...] = ()
    events: tuple[Event, ...] = ()
