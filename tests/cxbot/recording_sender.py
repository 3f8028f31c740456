"""A sender that records what the delivery path hands it (for the handoff tests)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.channel import Recipient
from flows.state import Outbound


class RecordingSender:
    """The `test` channel's sender: keeps every text it is asked to send."""

    channel = "test"
    route = "test"
    batch = False
    window: timedelta | None = None
    quota: int | None = None

    def __init__(self) -> None:
        self.texts: list[str] = []

    def unreachable(self, address: str) -> str | None:
        return None

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> str | None:
        self.texts.extend(m.text for m in messages)
        return None
