"""Is this error the database being unavailable? And a health check that cannot hang.

An outage is anything that says the database did not answer, or not in time: connection
refused or lost, a server shutting down, our own timeouts (SQLite's busy timeout on the
write lock, PostgreSQL's `connect_timeout`, `statement_timeout` and `lock_timeout`, the
pool's wait, the in-process write queue's wait). The app answers those with 503 so
platforms deliver again; anything else (a constraint, a syntax error, a missing table)
is a bug and stays a 500.
"""

from __future__ import annotations

import asyncio
import sqlite3

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

SQLITE_OUTAGES = ("database is locked", "database table is locked", "unable to open", "disk i/o")
"""What SQLite says (it has one OperationalError for everything) when the file is busy or
cannot be reached, as opposed to a bad statement."""

_checks: set[asyncio.Task[None]] = set()
"""Health checks still running after their answer went (they end by themselves)."""


def unavailable(error: BaseException) -> str | None:
    """A short reason when `error` (or what caused it) means the database is unavailable,
    else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _outage(current)
        if reason is not None:
            return reason
        current = current.__cause__ or current.__context__
    return None


def _outage(error: BaseException) -> str | None:
    if isinstance(error, PoolTimeout):
        return "no database connection free in time"
    if isinstance(error, DBAPIError):
        original = error.orig
        if error.connection_invalidated:
            return f"connection lost ({type(original).__name__})"
        if isinstance(original, sqlite3.Error):  # aiosqlite raises sqlite3's errors
            return _sqlite_outage(original)
        if isinstance(error, (OperationalError, InterfaceError)):
            return _first_line(original or error)
        return None
    if isinstance(error, sqlite3.OperationalError):
        return _sqlite_outage(error)
    if _is_psycopg_outage(error):
        return _first_line(error)
    if isinstance(error, OSError):  # ConnectionError and TimeoutError are OSErrors
        return _first_line(error) or type(error).__name__
    return None


def _sqlite_outage(error: sqlite3.Error) -> str | None:
    message = str(error).lower()
    if isinstance(error, sqlite3.OperationalError) and any(p in message for p in SQLITE_OUTAGES):
        return _first_line(error)
    return None


def _is_psycopg_outage(error: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL support is an extra
        return False
    return isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


async def ping(engine: AsyncEngine, *, seconds: float) -> str | None:
    """None when the database runs `SELECT 1` within `seconds` (on SQLite: takes the write
    lock, as every transaction does), else why not. Never takes longer than `seconds`:
    a check still waiting then is left to end by itself."""

    async def select_one() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    check = asyncio.create_task(select_one())
    done, _ = await asyncio.wait({check}, timeout=seconds)
    if not done:
        _checks.add(check)
        check.add_done_callback(_forget)
        check.cancel()
        return f"no answer within {seconds:g} s"
    error = check.exception()
    if error is None:
        return None
    return unavailable(error) or f"{type(error).__name__}: {_first_line(error)}"


def _forget(check: asyncio.Task[None]) -> None:
    _checks.discard(check)
    if not check.cancelled():
        check.exception()  # retrieved, so asyncio does not log it as never retrieved
