"""Language intelligence's tables (migration 0015): the durable queue of analysis jobs, the
themes and sentiment of each open answer, the summary of each escalated conversation, and
the tokens the model used per day (the daily budget is counted here, so every process
shares it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import utcnow


class AnalysisJob(SQLModel, table=True):
    """One piece of work for the analysis worker: analyze an answer (`answer`) or summarize
    an escalated conversation (`summary`). `pending` until `next_attempt_at`, `working`
    while one worker holds it (until `claimed_at` + the lease: a worker that died lets
    another take it over), then `done` or `failed`. Unique (kind, ref_id): queuing the same
    work twice is a no-op."""

    __tablename__ = "analysis_job"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_analysis_job_kind_ref"),
        Index("ix_analysis_job_due", "state", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    """`answer` (ref_id: answer.id) or `summary` (ref_id: escalation.id)."""
    ref_id: int
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=200)
    """Why the last attempt failed (no customer text)."""
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


class AnswerAnalysis(SQLModel, table=True):
    """The themes and sentiment of one open answer, and who found them: the model (its
    name and the prompt version) or the offline fallback."""

    __tablename__ = "answer_analysis"
    answer_id: int = Field(primary_key=True, foreign_key="answer.id")
    themes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Theme keys (`delivery`, `price`, ...), possibly none."""
    sentiment: str = Field(max_length=16)
    """positive, neutral or negative."""
    vague: bool = False
    """Too vague to act on ("不好", "meh")."""
    source: str = Field(max_length=16)
    """`model` or `fallback`."""
    model: str = Field(max_length=100)
    """The model's name, or `fallback`."""
    prompt_version: str = Field(max_length=32)
    analyzed_at: datetime = Field(default_factory=utcnow, index=True)


class EscalationSummary(SQLModel, table=True):
    """A 1-3 line summary of an escalated conversation for the agents (the model's; without
    a model the desk shows the extract of score and key answers and nothing is stored)."""

    __tablename__ = "escalation_summary"
    escalation_id: int = Field(primary_key=True, foreign_key="escalation.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=16)
    model: str = Field(max_length=100)
    prompt_version: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class ModelUsage(SQLModel, table=True):
    """Tokens the model used on one UTC day (the daily budget reads the sum)."""

    __tablename__ = "model_usage"
    day: str = Field(primary_key=True, max_length=10)
    """YYYY-MM-DD (UTC)."""
    model: str = Field(primary_key=True, max_length=100)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    failures: int = 0
    """Calls that failed or whose output was invalid (the fallback answered)."""
