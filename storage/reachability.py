"""Is the database there? One line that says why not, for the CLI and the logs.

`check_reachable(url)` connects once before a command starts; `explain_failure(url, error)`
turns what the drivers raise (connection refused, unknown host, bad password, missing
database, a SQLite folder that cannot be written) into one line that names the database
and its host, never the password, and the cause.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from storage.database import create_engine, normalize_url, sqlite_file, use_wal


class DatabaseUnreachable(Exception):
    """The database cannot be used; the message is one line, without the password."""


def check_reachable(url: str | URL, *, seconds: float = 10.0) -> None:
    """Connect once, from synchronous code (the CLI); raise DatabaseUnreachable if one cannot.

    A SQLite file (and its folder) is created and put in WAL mode, and one write tried and
    rolled back, so a read-only folder or file shows here, not halfway through a command.
    """
    try:
        path = sqlite_file(url)
        if path is not None:
            use_wal(url)
            with closing(sqlite3.connect(path, timeout=seconds)) as connection:
                connection.execute("BEGIN IMMEDIATE")
                (version,) = connection.execute("PRAGMA user_version").fetchone()
                connection.execute(f"PRAGMA user_version = {int(version)}")  # a write, undone
                connection.execute("ROLLBACK")
        else:
            asyncio.run(_connect(url, seconds))
    except TimeoutError as exc:  # before OSError: TimeoutError is one
        raise DatabaseUnreachable(
            explain_failure(url, f"no answer within {seconds:g} seconds")
        ) from exc
    except (OSError, DBAPIError, sqlite3.Error) as exc:
        raise DatabaseUnreachable(explain_failure(url, exc)) from exc


async def _connect(url: str | URL, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()


def explain_failure(url: str | URL, error: BaseException | str) -> str:
    """One line: which database (host, name, user; no password) and why it cannot be used."""
    parsed = normalize_url(url)
    path = sqlite_file(parsed)
    if parsed.get_backend_name() == "sqlite":
        line = f"cannot use the SQLite database {path}: {_sqlite_cause(path, error)}"
    else:
        line = f"cannot connect to {_server(parsed)}: {_server_cause(parsed, error)}"
    if parsed.password:
        line = line.replace(str(parsed.password), "***")
    return line


def _server(url: URL) -> str:
    name = "PostgreSQL" if url.get_backend_name() == "postgresql" else url.get_backend_name()
    where = f"{url.host or 'localhost'}:{url.port}" if url.port else (url.host or "localhost")
    details = ", ".join(
        part
        for part in (
            f"database {url.database}" if url.database else "",
            f"user {url.username}" if url.username else "",
        )
        if part
    )
    return f"{name} at {where}" + (f" ({details})" if details else "")


def _first_line(error: BaseException | str) -> str:
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    message = str(error).strip() or type(error).__name__
    return message.splitlines()[0].strip()


def _server_cause(url: URL, error: BaseException | str) -> str:
    message = _first_line(error)
    message = re.sub(
        r'^connection failed: connection to server at "[^"]*"(, port \d+)? failed: ', "", message
    )
    message = re.sub(r"^(connection failed: )?(FATAL|ERROR):\s+", "", message)
    lowered = message.lower()
    if "connection refused" in lowered:
        return "connection refused (is the server running and listening on that port?)"
    if "resolve host" in lowered or "translate host name" in lowered:
        return f"unknown host {url.host!r} (the name does not resolve)"
    if re.search(r'database ".*" does not exist', message):
        return f"{message} (create it first, e.g. createdb {url.database})"
    return message


def _sqlite_cause(path: Path | None, error: BaseException | str) -> str:
    if path is None or isinstance(error, str):
        return _first_line(error)
    if isinstance(error, OSError):  # from creating the folder
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            return f"cannot create the folder {path.parent}: {blocking} is a file"
        return f"cannot create the folder {path.parent} ({error.strerror or error})"
    message = _first_line(error)
    if path.is_dir():
        return f"{path} is a folder, not a database file"
    if not path.parent.is_dir():
        return f"{message} (the folder {path.parent} does not exist)"
    if not os.access(path.parent, os.W_OK):
        return f"{message} (the folder {path.parent} is read-only)"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{message} (the file is read-only)"
    if "not a database" in message:
        return f"{message} (is it a SQLite file?)"
    return message
