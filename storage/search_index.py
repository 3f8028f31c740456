"""Filling the transcript search index (`search_term`): one row per (term, conversation).

Rows are added in the same transaction as what a customer wrote: `storage/models.py` calls
`insert_terms` from SQLAlchemy's flush events when an inbound customer message or an answer
with text is inserted (or an inbound message is attached to the conversation it started), so
every writer keeps the index without a call of its own. A bulk load that bypasses the ORM
(`insert(Message)` with Core) calls `rebuild` afterwards, as migration 0010 does.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from storage.terms import terms_of

BATCH = 5000


def _insert_ignoring_duplicates(connection: Connection, table: Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING for this database (a term already listed stays)."""
    return _ignoring_duplicates(connection.dialect.name, table)


@cache
def _ignoring_duplicates(dialect: str, table: Table) -> Insert:
    # built once: a statement built per message costs its construction and cache key
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return table.insert().prefix_with("IGNORE")  # MySQL/MariaDB spelling


def insert_terms(
    connection: Connection, table: Table, conversation_id: int, texts: Iterable[str]
) -> int:
    """Index `texts` under `conversation_id` (one statement); returns how many terms."""
    terms: set[str] = set()
    for piece in texts:
        terms |= terms_of(piece)
    if terms:
        connection.execute(
            _insert_ignoring_duplicates(connection, table),
            [{"term": term, "conversation_id": conversation_id} for term in sorted(terms)],
        )
    return len(terms)


CUSTOMER_TEXTS = {
    "message": (
        "SELECT id, conversation_id, text FROM message WHERE id > :after AND direction = 'in' "
        "AND author = 'customer' AND conversation_id IS NOT NULL ORDER BY id LIMIT :size"
    ),
    "answer": (
        "SELECT id, conversation_id, text FROM answer WHERE id > :after "
        "AND text IS NOT NULL ORDER BY id LIMIT :size"
    ),
}
"""What customers wrote, read in id order a batch at a time."""


def rebuild(connection: Connection, table: Table, *, batch: int = BATCH) -> int:
    """Index every stored customer text again (idempotent); returns the rows read."""
    read = 0
    for query in CUSTOMER_TEXTS.values():
        after = 0
        while True:
            rows = connection.execute(text(query), {"after": after, "size": batch}).all()
            if not rows:
                break
            grouped: dict[int, set[str]] = {}
            for _, conversation_id, body in rows:
                grouped.setdefault(conversation_id, set()).update(terms_of(body or ""))
            values = [
                {"term": term, "conversation_id": ref}
                for ref, terms in grouped.items()
                for term in sorted(terms)
            ]
            if values:
                connection.execute(_insert_ignoring_duplicates(connection, table), values)
            after = rows[-1][0]
            read += len(rows)
    return read
