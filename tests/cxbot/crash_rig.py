"""The crash-window rig: `cxbot serve` processes on one database, the platforms' fakes, and
what the database says about every outbound message.

Settings that keep a kill test to a few seconds: a 2-second send lease (a dead sender's claim
runs out 2 s after its last renewal) and a sweep every 0.2 s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy

from tests.serve_process import ServeProcess

LEASE_SECONDS = 2.0
SWEEP_SECONDS = 0.2
NEVER = 600.0
"""A sweep period no test outlives: only the platform's redelivery can send."""

WELCOME = """\
id: welcome
name: {zh: 欢迎, en: Welcome}
touchpoint: relationship
journey_stage: loyalty
languages: [zh, en]
default_language: en
steps:
  - id: hello
    type: message
    text: {zh: 您好！两个小问题。, en: "Hello! Two quick questions."}
    next: rate
  - id: rate
    type: scale
    metric: csat
    range: [1, 5]
    save_as: rating
    text: {zh: 您满意吗？, en: "How satisfied are you with us?"}
    next: bye
  - id: bye
    type: end
    text: {zh: 谢谢！, en: "Thanks!"}
"""
"""A flow whose first reply is two messages (a greeting, then the question)."""


@dataclass(frozen=True)
class Row:
    """One outbound message as the database holds it."""

    id: int
    customer: str
    text: str
    state: str
    platform_id: str | None
    via: str | None
    attempts: int
    claimed_at: datetime | None


@dataclass
class Figure:
    """How long a restart took to deliver what the dead process held."""

    test: str
    after_kill: float
    after_ready: float


FIGURES: list[Figure] = []
"""Collected over the run; printed in the terminal summary (tests/cxbot/conftest.py)."""


@dataclass
class Crashes:
    """Start `cxbot serve` processes on one database; read that database."""

    tmp_path: Path
    db_url: str
    env: dict[str, str]
    processes: list[ServeProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        flows = self.tmp_path / "flows"
        flows.mkdir(exist_ok=True)
        (flows / "welcome.yaml").write_text(WELCOME, encoding="utf-8")
        self.engine = sqlalchemy.create_engine(self.db_url.replace("+aiosqlite", ""))
        self.env = {
            "CXBOT_DATABASE_URL": self.db_url,
            "CXBOT_FLOWS_DIR": str(flows),
            "CXBOT_FLOW_RELOAD_SECONDS": "0",
            "CXBOT_SEND_LEASE_SECONDS": str(LEASE_SECONDS),
            "CXBOT_DELIVERY_SWEEP_SECONDS": str(SWEEP_SECONDS),
            "PTB_TIMEDELTA": "1",
            **self.env,
        }

    async def serve(self, **env: str) -> ServeProcess:
        """A new `cxbot serve`, ready; `env` on top of the rig's."""
        number = len(self.processes) + 1
        process = ServeProcess({**self.env, **env}, self.tmp_path / f"serve-{number}.log")
        self.processes.append(process)
        return await process.ready()

    def close(self) -> None:
        """Stop every process still running; close the database connections."""
        for process in self.processes:
            process.stop()
        self.engine.dispose()

    def execute(self, *statements: str) -> None:
        """Run SQL on the database (in one transaction)."""
        with self.engine.begin() as connection:
            for statement in statements:
                connection.execute(sqlalchemy.text(statement))

    def outbound(self) -> list[Row]:
        """Every outbound message, in order."""
        with self.engine.connect() as connection:
            found = connection.execute(
                sqlalchemy.text(
                    "SELECT m.id, c.external_id, m.text, m.delivery_state, "
                    "m.platform_message_id, m.payload, m.attempts, m.claimed_at "
                    "FROM message m JOIN customer c ON c.id = m.customer_id "
                    "WHERE m.direction = 'out' ORDER BY m.id"
                )
            ).all()
        return [
            Row(r[0], r[1], r[2], r[3], r[4], _payload(r[5]).get("via"), r[6], _aware(r[7]))
            for r in found
        ]

    def count(self, sql: str) -> int:
        """The single number a query returns."""
        with self.engine.connect() as connection:
            return int(connection.execute(sqlalchemy.text(sql)).scalar_one())

    def settled(self) -> list[Row] | None:
        """The outbound rows once none is waiting or held (`pending`, `sending`), else None."""
        rows = self.outbound()
        return rows if rows and all(r.state in ("sent", "failed") for r in rows) else None

    def lease_ran_out(self) -> bool:
        """True when no claim on an outbound message is still within its lease."""
        now = datetime.now(UTC)
        lease = timedelta(seconds=LEASE_SECONDS)
        return all(
            r.claimed_at is not None and r.claimed_at + lease < now
            for r in self.outbound()
            if r.state == "sending"
        )


def record(test: str, killed: ServeProcess, restarted: ServeProcess, delivered_at: float) -> None:
    """Note how long after the kill (and after the new process was ready) delivery came."""
    FIGURES.append(Figure(test, delivered_at - killed.killed_at, delivered_at - restarted.ready_at))


def _payload(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
