"""Flows as published versions (migration 0014): every publication of a flow numbered per
flow (revision 1, 2, 3 …), each flow's status, and the admins' unpublished drafts.

A publication points at a version whose text is in `flowversion` (the table pinned
conversations already read); the current version of a flow is its highest revision, so a
rollback is a new publication of an older text, never a change to history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Column, ForeignKeyConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import utcnow

Origin = Literal["file", "editor", "cli"]
"""Where a publication came from: a flow file the server loaded, the admin app or the
`/api/v1/flows` API, or `cxbot flows publish|rollback`."""
ORIGINS: tuple[Origin, ...] = ("file", "editor", "cli")
Status = Literal["published", "retired"]
"""A published flow starts new interviews; a retired one does not (running ones go on)."""


class FlowPublication(SQLModel, table=True):
    """One published revision of a flow. The unique (flow_id, revision) turns two
    publishers who counted the same next revision into a conflict and a retry, never a
    lost update."""

    __tablename__ = "flow_publication"
    __table_args__ = (
        UniqueConstraint("flow_id", "revision", name="uq_flow_publication_revision"),
        ForeignKeyConstraint(
            ["flow_id", "version"],
            ["flowversion.flow_id", "flowversion.version"],
            name="fk_flow_publication_version",
        ),
        Index("ix_flow_publication_flow", "flow_id", "revision"),
    )
    id: int | None = Field(default=None, primary_key=True)
    """Grows with every publication of any flow: the number every process polls."""
    flow_id: str = Field(max_length=64)
    revision: int
    """1, 2, 3 … per flow."""
    version: str = Field(max_length=32)
    """The content hash (`flows.loader.version_of`); the text is in `flowversion`."""
    origin: str = Field(max_length=16)
    """`file`, `editor` or `cli` (see `Origin`)."""
    path: str | None = Field(default=None, max_length=500)
    """The file it was read from (origin `file`, and `cli` publish)."""
    author: str | None = Field(default=None, max_length=80)
    """The admin user's name, or `token:<name>` for an API token; none for a file."""
    restored_from: int | None = None
    """The revision whose text this one restored (a rollback)."""
    published_at: datetime = Field(default_factory=utcnow)


class FlowStatus(SQLModel, table=True):
    """Whether a flow that was published starts new interviews."""

    __tablename__ = "flow_status"
    flow_id: str = Field(primary_key=True, max_length=64)
    status: str = Field(default="published", max_length=16)
    """`published` or `retired`."""
    changed_at: datetime = Field(default_factory=utcnow)
    changed_by: str | None = Field(default=None, max_length=80)
    """Who retired it (none when the server did, its file being removed)."""


class FlowDraft(SQLModel, table=True):
    """An admin's unpublished text of a flow: one per flow and author, so two admins editing
    the same flow never overwrite each other's work; they meet at publishing (each publish
    is a revision; the diff shows what is live). A draft may be broken; it is never live."""

    __tablename__ = "flow_draft"
    flow_id: str = Field(primary_key=True, max_length=64)
    author: str = Field(primary_key=True, max_length=80)
    source: str = Field(sa_column=Column(Text, nullable=False))
    base_revision: int | None = None
    """The revision the draft started from (none for a new flow): the editor can tell that
    someone published since."""
    saved_at: datetime = Field(default_factory=utcnow)
