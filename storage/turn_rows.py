"""The rows one inbound message adds, written as Core statements (issue 13).

Handling a message inserts a transcript row for what came in, one per reply, the answers and
the events. Through the ORM each of those is an object built, tracked and flushed by the unit
of work, which cost more CPU than the database's own work; here each kind is one statement
built from plain dicts (the replies in one multi-row INSERT … RETURNING), on the session's own
connection and transaction. The search index (`storage/search_index.py`) is filled here for
these rows, as the ORM's flush events fill it for rows added through the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import search_index
from storage.models import Answer, Customer, Message, SearchTerm, utcnow

MESSAGE: Table = Message.__table__  # type: ignore[attr-defined]
ANSWER: Table = Answer.__table__  # type: ignore[attr-defined]
SEARCH: Table = SearchTerm.__table__  # type: ignore[attr-defined]
CUSTOMER: Table = Customer.__table__  # type: ignore[attr-defined]

# Built once with bound parameters: a statement built per message costs its construction and
# its cache key on every call (SQLAlchemy memoizes both on the statement object).
_SEEN = select(
    MESSAGE.c.id, MESSAGE.c.customer_id, MESSAGE.c.conversation_id, MESSAGE.c.payload
).where(
    MESSAGE.c.channel == bindparam("channel"),
    MESSAGE.c.direction == "in",
    MESSAGE.c.platform_message_id == bindparam("platform_message_id"),
)
_SENT_PAYLOADS = (
    select(MESSAGE.c.payload)
    .where(MESSAGE.c.conversation_id == bindparam("conversation_id"), MESSAGE.c.direction == "out")
    .order_by(MESSAGE.c.id.desc())
    .limit(bindparam("limit"))
)
_ADD_MESSAGES = insert(MESSAGE).returning(MESSAGE.c.id, sort_by_parameter_order=True)
_ADD_ANSWERS = insert(ANSWER)
_CUSTOMER = select(
    CUSTOMER.c.id, CUSTOMER.c.display_name, CUSTOMER.c.language, CUSTOMER.c.last_inbound_at
).where(
    CUSTOMER.c.channel == bindparam("channel"),
    CUSTOMER.c.external_id == bindparam("external_id"),
)
_CUSTOMER_LOCKED = _CUSTOMER.with_for_update()
_ADD_CUSTOMER = insert(CUSTOMER).returning(CUSTOMER.c.id)

_MESSAGE_DEFAULTS: dict[str, Any] = {
    "conversation_id": None,
    "platform_message_id": None,
    "reply_to_id": None,
    "payload": {},
    "delivery_state": "received",
    "claimed_at": None,
    "retry_at": None,
    "attempts": 0,
    "error": None,
    "sent_at": None,
}


class Seen(NamedTuple):
    """An inbound message received before under the same platform id."""

    id: int
    customer_id: int
    conversation_id: int | None
    payload: dict[str, Any]


async def seen_inbound(
    *, session: AsyncSession, channel: str, platform_message_id: str
) -> Seen | None:
    """The inbound message already stored under this platform id (a redelivery), if any."""
    parameters = {"channel": channel, "platform_message_id": platform_message_id}
    row = (await (await session.connection()).execute(_SEEN, parameters)).first()
    return None if row is None else Seen(row[0], row[1], row[2], row[3] or {})


async def button_payloads(
    *, session: AsyncSession, conversation_id: int, limit: int = 5
) -> list[dict[str, Any]]:
    """The payloads of the last messages sent in a conversation, newest first."""
    parameters = {"conversation_id": conversation_id, "limit": limit}
    result = await (await session.connection()).execute(_SENT_PAYLOADS, parameters)
    return [payload or {} for (payload,) in result]


async def add_messages(
    *, session: AsyncSession, rows: Sequence[Mapping[str, Any]], at: datetime
) -> list[int]:
    """Insert transcript rows (keys as `Message`'s columns; defaults as the model's) in one
    statement; their ids in the order given. A customer's words with a conversation are
    indexed for search."""
    if not rows:
        return []
    values = [{**_MESSAGE_DEFAULTS, "created_at": at, **row} for row in rows]
    connection = await session.connection()
    if len(values) == 1:
        ids = [(await connection.execute(_ADD_MESSAGES, values[0])).scalar_one()]
    else:
        ids = list((await connection.execute(_ADD_MESSAGES, values)).scalars())
    words: dict[int, list[str]] = {}
    for value in values:
        customers = value["direction"] == "in" and value["author"] == "customer"
        if customers and value["conversation_id"] is not None:
            words.setdefault(value["conversation_id"], []).append(value["text"])
    if words:
        await connection.run_sync(_index, words)
    return ids


async def add_answers(*, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert answers (keys as `Answer`'s columns) in one statement; open answers' text is
    indexed for search."""
    if not rows:
        return
    connection = await session.connection()
    await connection.execute(_ADD_ANSWERS, [dict(row) for row in rows])
    words: dict[int, list[str]] = {}
    for row in rows:
        if row.get("text"):
            words.setdefault(row["conversation_id"], []).append(row["text"])
    if words:
        await connection.run_sync(_index, words)


def _index(connection: Connection, words: dict[int, list[str]]) -> None:
    for conversation_id, texts in words.items():
        search_index.insert_terms(connection, SEARCH, conversation_id, texts)


@dataclass
class CustomerRow:
    """The customer a message comes from, as plain values; the handling transaction changes
    `language` and `last_inbound_at` and `save_customer` writes what changed."""

    id: int
    display_name: str | None
    language: str | None
    last_inbound_at: datetime | None
    stored: tuple[str | None, str | None, datetime | None] = (None, None, None)
    """(display_name, language, last_inbound_at) as the database holds them."""


async def lock_customer(
    *,
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str | None,
    language: str | None,
) -> CustomerRow:
    """The customer with this channel identity, created on first contact (a concurrent
    creation fails the transaction with an IntegrityError: retry it); an existing row is
    locked until the transaction ends (PostgreSQL; SQLite writes are serial anyway). A new
    display name or language given replaces the stored one (written by `save_customer`)."""
    connection = await session.connection()
    statement = _CUSTOMER_LOCKED if connection.dialect.name == "postgresql" else _CUSTOMER
    parameters = {"channel": channel, "external_id": external_id}
    found = (await connection.execute(statement, parameters)).first()
    if found is None:
        values = {
            "channel": channel,
            "external_id": external_id,
            "display_name": display_name,
            "language": language,
            "created_at": utcnow(),
            "last_inbound_at": None,
        }
        new_id = (
            await connection.execute(_ADD_CUSTOMER, values)
        ).scalar_one()
        return CustomerRow(new_id, display_name, language, None, (display_name, language, None))
    ref, stored_name, stored_language, last_inbound_at = found
    return CustomerRow(
        ref,
        display_name or stored_name,
        language or stored_language,
        last_inbound_at,
        (stored_name, stored_language, last_inbound_at),
    )


async def save_customer(*, session: AsyncSession, customer: CustomerRow) -> None:
    """Write the customer's changed name, language and last contact (one UPDATE, or none)."""
    now = (customer.display_name, customer.language, customer.last_inbound_at)
    names = ("display_name", "language", "last_inbound_at")
    changed = {
        name: new for name, new, old in zip(names, now, customer.stored, strict=True) if new != old
    }
    if changed:
        connection = await session.connection()
        await connection.execute(
            update(CUSTOMER).where(CUSTOMER.c.id == customer.id).values(**changed)
        )
        customer.stored = now
