"""Two `cxbot serve` processes sharing one PostgreSQL, as two hosts behind a load balancer
would run them, and what the shared database says about each customer.

Built on the crash rig (tests/cxbot/crash_rig.py: real processes, a 2-second send lease, a
sweep every 0.2 s). The flow `steps` asks six open questions in a row, each worded by its
number, so a message that was handled on a stale state (two servers advancing the same
interview at once) shows as a question asked twice or skipped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import sqlalchemy

from tests.cxbot.crash_rig import Crashes
from tests.serve_process import ServeProcess

QUESTIONS = 6
STEPS = "\n".join(
    [
        "id: steps",
        "name: {en: Steps}",
        "touchpoint: relationship",
        "journey_stage: loyalty",
        "languages: [en]",
        "default_language: en",
        "timeout: 30m",
        "steps:",
        *(
            f"  - id: q{n}\n    type: open\n    save_as: a{n}\n"
            f'    text: {{en: "Question {n}?"}}\n'
            f"    next: {f'q{n + 1}' if n < QUESTIONS else 'done'}"
            for n in range(1, QUESTIONS + 1)
        ),
        "  - id: done",
        "    type: end",
        '    text: {en: "Thanks!"}',
        "",
    ]
)
"""Six open questions, then thanks: every answer moves the interview one step."""

EXPECTED_REPLIES = [f"Question {n}?" for n in range(1, QUESTIONS + 1)] + ["Thanks!"]
"""What one customer gets, in order, for its start and six answers."""


@dataclass(frozen=True)
class Line:
    """One stored message of a customer's transcript."""

    id: int
    direction: str
    text: str
    reply_to: int | None
    state: str


class TwoServers(Crashes):
    """Two `cxbot serve` processes on one database (the `steps` flow in their flows folder)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        (self.tmp_path / "flows" / "steps.yaml").write_text(STEPS, encoding="utf-8")

    async def start(self, **env: str) -> tuple[ServeProcess, ServeProcess]:
        """Both servers, started at once on the same database (as hosts rebooting together)."""
        first, second = await asyncio.gather(self.serve(**env), self.serve(**env))
        return first, second

    def transcripts(self, channel: str) -> dict[str, list[Line]]:
        """Each customer's messages on `channel`, in stored order."""
        with self.engine.connect() as connection:
            found = connection.execute(
                sqlalchemy.text(
                    "SELECT c.external_id, m.id, m.direction, m.text, m.reply_to_id, "
                    "m.delivery_state FROM message m JOIN customer c ON c.id = m.customer_id "
                    "WHERE c.channel = :channel ORDER BY m.id"
                ),
                {"channel": channel},
            ).all()
        lines: dict[str, list[Line]] = {}
        for ref, *line in found:
            lines.setdefault(ref, []).append(Line(*line))
        return lines

    def answers(self, channel: str) -> dict[str, dict[str, str]]:
        """Each customer's saved answers on `channel`: variable -> text."""
        with self.engine.connect() as connection:
            found = connection.execute(
                sqlalchemy.text(
                    "SELECT c.external_id, a.variable, a.text FROM answer a "
                    "JOIN conversation v ON v.id = a.conversation_id "
                    "JOIN customer c ON c.id = v.customer_id WHERE c.channel = :channel"
                ),
                {"channel": channel},
            ).all()
        saved: dict[str, dict[str, str]] = {}
        for ref, variable, text in found:
            assert variable not in saved.setdefault(ref, {}), f"{variable} saved twice for {ref}"
            saved[ref][variable] = text
        return saved


def assert_in_order(lines: list[Line], answers: dict[str, str], sent: list[list[str]]) -> None:
    """One customer's transcript: the start and each answer, each followed at once by its one
    reply, the replies walking the flow a step at a time; the answers sent one after another
    (the inner lists of `sent`) stored in that order, those sent together in either order."""
    inbound = [line for line in lines if line.direction == "in"]
    outbound = [line for line in lines if line.direction == "out"]
    assert [line.direction for line in lines] == ["in", "out"] * len(inbound), lines
    assert [o.reply_to for o in outbound] == [i.id for i in inbound], lines
    assert [o.text for o in outbound] == EXPECTED_REPLIES, lines
    stored = [line.text for line in inbound[1:]]  # after the start
    at = 0
    for together in sent:  # each group is stored after the one before it
        assert sorted(stored[at : at + len(together)]) == sorted(together), (stored, sent)
        at += len(together)
    assert at == len(stored), (stored, sent)
    # the answer to question n is the n-th answer stored: each was taken on the state the
    # one before it left
    assert answers == {f"a{n}": text for n, text in enumerate(stored, start=1)}
