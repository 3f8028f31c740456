"""The flow studio's simulator: chat with a draft (or any version) as a customer would,
through the pure engine (`flows.engine`), in memory. Nothing is written to the database.

The conversation state travels with each request, signed (itsdangerous) with a key
derived from the server's secret, bound to the text's version: the server keeps nothing,
so any number of admins may simulate on any number of processes, nothing needs a bound
or a clean-up, and a restart loses nothing. The signature stops a browser from feeding the
engine a state it never produced (an unknown step, a forged answer type).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer

from flows import engine
from flows.loader import FlowLoadError, LoadedFlow, load_text
from flows.matching import AlertWords
from flows.state import ConversationState, Inbound, Outcome

Action = Literal["start", "text", "button", "stop", "human"]
VARIABLES = ("customer_name", "brand")
"""What the admin may set before starting: the customer's name and the brand."""
MAX_VARIABLE = 100


@functools.lru_cache(maxsize=32)
def _loaded(source: str) -> LoadedFlow:
    """A text checked once for all the turns of its chats (a few admins try a few texts;
    checking costs ~20 ms, a turn of the engine well under 1 ms)."""
    return load_text(source, file="draft")


class SimulationError(Exception):
    """A simulator request that cannot be run: `code` says why (for a 4xx answer)."""

    def __init__(self, code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors or []


@dataclass(frozen=True)
class Turn:
    """What one simulator request produced, ready for the page."""

    token: str
    state: ConversationState
    outcome: Outcome

    def as_json(self) -> dict[str, Any]:
        """Messages (with buttons and hints), events, and the state's summary."""
        return {
            "token": self.token,
            "status": self.state.status,
            "language": self.state.language,
            "step_id": self.state.step_id,
            "answers": dict(self.state.answers),
            "messages": [
                {
                    "text": out.text,
                    "hint": out.hint,
                    "buttons": [{"label": b.label, "payload": b.payload} for b in out.buttons],
                }
                for out in self.outcome.outbound
            ],
            "events": [{"name": e.name, "data": e.data()} for e in self.outcome.events],
        }


class Simulator:
    """Runs the engine for the studio; `key()` is the server's secret (set at start-up)."""

    def __init__(
        self,
        *,
        key: Callable[[], str | None],
        clock: Callable[[], datetime],
        alerts: AlertWords | None = None,
    ) -> None:
        self._key = key
        self._clock = clock
        self._alerts = alerts
        """The server's alert words (CXBOT_ALERT_WORDS), so the simulator hands off as a
        real interview would."""

    def _serializer(self) -> URLSafeSerializer:
        secret = self._key()
        if not secret:
            raise SimulationError("unavailable", "the server's key is not set yet")
        derived = hmac.new(secret.encode(), b"cxbot flow simulator", hashlib.sha256).hexdigest()
        return URLSafeSerializer(derived, salt="simulator-state")

    def _load(self, source: str) -> LoadedFlow:
        try:
            return _loaded(source)
        except FlowLoadError as exc:
            errors = [{"line": e.line, "col": e.column, "message": e.message} for e in exc.errors]
            raise SimulationError("invalid", "the text has errors", errors) from None

    def _sign(self, state: ConversationState) -> str:
        return str(self._serializer().dumps(state.to_json()))

    def _unsign(self, token: str, version: str) -> ConversationState:
        try:
            data = self._serializer().loads(token)
            state = ConversationState.from_json(data)
        except (BadSignature, KeyError, TypeError, ValueError):
            raise SimulationError("bad-state", "the simulator's state is not valid") from None
        if state.flow_version != version:
            raise SimulationError("changed", "the text changed since this chat started: restart")
        return state

    def start(self, source: str, *, language: str | None, variables: dict[str, str]) -> Turn:
        """Begin an interview on this text, in `language` when the flow has it."""
        loaded = self._load(source)
        chosen = {
            name: value.strip()[:MAX_VARIABLE]
            for name, value in variables.items()
            if name in VARIABLES and value.strip()
        }
        outcome = engine.start(
            loaded.flow,
            version=loaded.version,
            at=self._clock(),
            language_hints=(language,),
            variables=chosen,
        )
        return Turn(self._sign(outcome.state), outcome.state, outcome)

    def reply(self, source: str, token: str, action: Action, value: str = "") -> Turn:
        """The customer's next move: typed text, a tapped button, /stop or /human."""
        loaded = self._load(source)
        state = self._unsign(token, loaded.version)
        at = self._clock()
        if action == "text":
            inbound = Inbound(at=at, text=value)
        elif action == "button":
            inbound = Inbound(at=at, button=value)
        elif action in ("stop", "human"):
            inbound = Inbound(at=at, command=action)
        else:
            raise SimulationError("bad-action", f"unknown action {action!r}")
        outcome = engine.advance(loaded.flow, state, inbound, alerts=self._alerts)
        return Turn(self._sign(outcome.state), outcome.state, outcome)
