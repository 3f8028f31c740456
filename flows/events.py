"""Events the engine reports: small frozen values with stable names.

Storage appends them; escalations, dashboards and notifications read them. Adding a new
reaction never touches the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events; `name` is the stable identifier stored with each one."""

    name: ClassVar[str] = "event"

    def data(self) -> dict[str, Any]:
        """The event's fields as JSON-ready data (all plain values: no deep copy needed)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True)
class InterviewStarted(Event):
    name: ClassVar[str] = "interview-started"
    flow_id: str
    flow_version: str
    language: str


@dataclass(frozen=True)
class AnswerRecorded(Event):
    name: ClassVar[str] = "answer-recorded"
    step_id: str
    variable: str
    value: int | str | None
    text: str


@dataclass(frozen=True)
class MetricRecorded(Event):
    name: ClassVar[str] = "metric-recorded"
    step_id: str
    metric: str
    value: int
    low: int
    high: int


@dataclass(frozen=True)
class ProbeRequested(Event):
    """An open answer was too vague: the engine asks `fallback` again on the same step; the
    service may replace that text with a generated follow-up within its time budget."""

    name: ClassVar[str] = "probe-requested"
    step_id: str
    question: str
    answer: str
    score: int | None
    language: str
    fallback: str
    generate: bool
    instructions: str | None
    max_chars: int


@dataclass(frozen=True)
class AnswerRejected(Event):
    name: ClassVar[str] = "answer-rejected"
    step_id: str
    text: str


@dataclass(frozen=True)
class QuestionSkipped(Event):
    """The customer took the way out offered after repeated re-asks: no answer is kept."""

    name: ClassVar[str] = "question-skipped"
    step_id: str
    variable: str


@dataclass(frozen=True)
class LanguageChanged(Event):
    name: ClassVar[str] = "language-changed"
    old: str
    new: str


@dataclass(frozen=True)
class EscalationRequested(Event):
    name: ClassVar[str] = "escalation-requested"
    reason: str
    priority: str
    step_id: str | None


@dataclass(frozen=True)
class InterviewHandedOff(Event):
    name: ClassVar[str] = "interview-handed-off"
    reason: str


@dataclass(frozen=True)
class InterviewCompleted(Event):
    name: ClassVar[str] = "interview-completed"


@dataclass(frozen=True)
class InterviewAbandoned(Event):
    name: ClassVar[str] = "interview-abandoned"
    reason: str


@dataclass(frozen=True)
class InterviewSkipped(Event):
    """An interview was asked for but not started (the customer answered it recently)."""

    name: ClassVar[str] = "interview-skipped"
    flow_id: str
    reason: str
