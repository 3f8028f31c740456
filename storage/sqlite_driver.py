"""SQLite for SQLAlchemy's asyncio engine with one hand-off to the database thread per statement.

SQLAlchemy's aiosqlite adapter sends every DBAPI call to aiosqlite's worker thread on its
own: open a cursor, execute, fetch all, close, each a Future, a queue put and a wake-up of
the event loop. That was ~40 hand-offs (and ~80 loop iterations) for the ~11 statements of
one web chat message, more CPU than SQLite's own work.

This driver keeps aiosqlite's connection, thread and queue, and SQLAlchemy's aiosqlite
dialect (the URL stays `sqlite+aiosqlite://`, `dialect.driver` stays "aiosqlite"); it only
swaps the cursor. `Cursor.execute` queues ONE function that opens a sqlite3 cursor,
executes, reads the description, fetches every row and closes the cursor, then serves the
rows from memory. Errors are sqlite3's own (`OperationalError: database is locked`,
`IntegrityError`), which SQLAlchemy wraps as before. Two more hand-offs go away:

- BEGIN (`BEGIN IMMEDIATE` from `storage.database`) is held and sent with the
  transaction's first statement, in the same function: SQLAlchemy begins lazily, right
  before that statement anyway. A BEGIN that fails (the write lock held elsewhere past the
  busy timeout) fails that first statement with the same error.
- A rollback when SQLite says no transaction is open (the pool's reset after a commit)
  is not sent. While a statement's answer is outstanding (say its task was cancelled),
  the connection counts as in a transaction, so the rollback is sent.

Inside `inline()` (the conversation service's and the delivery path's short write
transactions) a statement does not go to the thread at all: it runs right there, on the
event loop's thread, which costs less than the hand-off (a handled message's ~11 statements
take well under a millisecond in SQLite). The one wait SQLite can make, a BEGIN IMMEDIATE
meeting another connection's write lock, is never made on the loop: that BEGIN is tried
without waiting (busy timeout 0) and, when the lock is taken, sent to the thread as usual
to wait there. Long statements (the admin's reports) stay on the thread.

Use it with `create_async_engine(url, module=dbapi())` for `sqlite+aiosqlite` URLs.
Server-side cursors (`stream_results`) keep aiosqlite's cursor.
"""

from __future__ import annotations

import collections
import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Description = tuple[tuple[Any, ...], ...] | None
_Result = tuple[_Description, list[Any], int, int | None, bool]
"""What one statement brings back from the thread: description, rows, rowcount,
lastrowid, and whether a transaction is open afterwards."""

BEGIN_STATEMENTS = frozenset({"BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})
"""Statements held back and sent together with the next one."""

_INLINE: ContextVar[bool] = ContextVar("sqlite_inline", default=False)


@contextlib.contextmanager
def inline() -> Iterator[None]:
    """Run this task's SQLite statements on the event loop's thread (see the module doc)."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


class _Busy(Exception):
    """The write lock is taken: BEGIN must wait for it, on the thread."""


async def _here(function: Any, *args: Any) -> Any:
    """Call `function` right away: awaited through SQLAlchemy's `await_`, this is a switch
    to the event loop's greenlet and back, without a turn of the loop or a thread."""
    return function(*args)


def _inline_run(
    connection: aiosqlite.Connection,
    begin: str | None,
    operation: str,
    parameters: Any,
    many: bool,
) -> _Result:
    if begin is not None:
        _begin_now(connection._conn, begin)
    return _run(connection, None, operation, parameters, many)


def _begin_now(raw: sqlite3.Connection, begin: str) -> None:
    """BEGIN without waiting for a lock another connection holds (raises `_Busy`)."""
    (wait,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute("PRAGMA busy_timeout=0")
    try:
        raw.execute(begin)
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise _Busy from error
        raise
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(wait)}")


def _run(
    connection: aiosqlite.Connection,
    begin: str | None,
    operation: str,
    parameters: Any,
    many: bool = False,
) -> _Result:
    """On the connection's thread: [BEGIN,] execute (or executemany), fetch everything,
    close."""
    raw = connection._conn
    if begin is not None:
        raw.execute(begin)
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid, raw.in_transaction
    finally:
        cursor.close()


class Cursor:
    """A DBAPI cursor whose every execute is one call on the connection's thread."""

    server_side = False
    __slots__ = ("_adapt_connection", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, adapt_connection: Connection) -> None:
        self._adapt_connection = adapt_connection
        self._rows: collections.deque[Any] = collections.deque()
        self.arraysize = 1
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    def execute(self, operation: str, parameters: Any = None) -> None:
        """Run one statement (a BEGIN waits for the next one) and keep its rows."""
        if not parameters and operation.strip().upper() in BEGIN_STATEMENTS:
            self._adapt_connection._hold_begin(operation)
            self._keep((None, [], -1, self.lastrowid, True))
        else:
            self._keep(self._adapt_connection._send(operation, parameters))

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        """Run one statement for each set of parameters."""
        self._keep(self._adapt_connection._send(operation, seq_of_parameters, many=True))

    def _keep(self, result: _Result) -> None:
        self.description, rows, self.rowcount, self.lastrowid, _ = result
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        """Nothing to close: the sqlite3 cursor closed on the thread."""

    def close(self) -> None:
        """Forget the rows (the sqlite3 cursor is already closed)."""
        self._rows.clear()

    def setinputsizes(self, *sizes: Any) -> None:
        """Not used by SQLite."""

    def nextset(self) -> None:
        """SQLite has one result set per statement."""
        return None

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next `size` rows (arraysize by default)."""
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Connection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter with `Cursor` as its cursor."""

    __slots__ = ("_begin", "_in_transaction")
    _cursor_cls = Cursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        # SQLAlchemy types the driver connection as a protocol aiosqlite does not spell out
        super().__init__(dbapi, cast(Any, connection))
        self._begin: str | None = None
        """A BEGIN waiting for the transaction's first statement."""
        self._in_transaction = True
        """False only when SQLite said so after the last call (True while unsure)."""

    def _hold_begin(self, operation: str) -> None:
        self._begin = operation

    def _send(self, operation: str, parameters: Any, *, many: bool = False) -> _Result:
        """Run the statement on the thread with the held BEGIN, if any: one hand-off."""
        begin, self._begin = self._begin, None
        self._in_transaction = True
        connection = cast(aiosqlite.Connection, self._connection)
        result: _Result
        if _INLINE.get():
            try:
                result = await_(_here(_inline_run, connection, begin, operation, parameters, many))
            except _Busy:
                pass  # wait for the lock on the thread, below
            except Exception as error:
                self._handle_exception(error)
            else:
                self._in_transaction = result[4]
                return result
        try:
            result = await_(
                self._connection._execute(_run, connection, begin, operation, parameters, many)
            )
        except Exception as error:
            self._handle_exception(error)
        self._in_transaction = result[4]
        return result

    def commit(self) -> None:
        """Commit (a transaction that ran no statement had nothing to commit)."""
        if self._begin is not None:
            self._begin = None
            return
        if _INLINE.get():
            try:
                await_(_here(self._connection._conn.commit))
            except Exception as error:
                self._handle_exception(error)
        else:
            super().commit()
        self._in_transaction = False

    def rollback(self) -> None:
        """Roll back, unless SQLite said no transaction is open."""
        self._begin = None
        if not self._in_transaction:
            return
        if _INLINE.get():
            try:
                await_(_here(self._connection._conn.rollback))
            except Exception as error:
                self._handle_exception(error)
        else:
            super().rollback()
        self._in_transaction = False


class DBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy's adapter sees it, handing out `Connection`s."""

    def connect(self, *arg: Any, **kw: Any) -> Connection:
        """Open an aiosqlite connection (its own thread) wrapped in `Connection`."""
        # statements run on the loop's thread too, never two at once (see `inline`)
        connection = aiosqlite.connect(*arg, **{**kw, "check_same_thread": False})
        connection._thread.daemon = True
        return Connection(self, await_(connection))


def dbapi() -> DBAPI:
    """The module object to pass as `create_async_engine(..., module=dbapi())`."""
    return DBAPI(aiosqlite, sqlite3)
