"""NUL characters on the way into the database, replaced by U+FFFD on every backend.

PostgreSQL refuses "\\x00" in text (psycopg raises DataError) and "\\u0000" in jsonb, and
customers control much of what is stored: message text, display names, button payloads,
answers. Rather than clean each call site, every engine from `storage.database` does it
twice, generically: `replace_nul` rewrites the string parameters of every statement, and
`dumps_without_nul` serializes JSON columns. SQLite gets the same treatment, so both
databases store (and look up) the same text.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

NUL = "\x00"
REPLACEMENT = "\ufffd"


def without_nul(value: Any) -> Any:
    """`value` with NUL replaced by U+FFFD in every string, also inside lists and dicts."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_nul(item) for item in value)
    return value


def has_nul(value: Any) -> bool:
    """True when a string in `value` (also inside lists and dicts) holds a NUL."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        # a statement's parameters: mostly flat, so one loop and no call per parameter
        for item in value:
            if isinstance(item, str):
                if NUL in item:
                    return True
            elif isinstance(item, list | tuple | dict) and has_nul(item):
                return True
        return False
    return False


def dumps_without_nul(value: Any) -> str:
    """JSON for a JSON column (the engine's `json_serializer`), free of NUL."""
    text = json.dumps(value)
    return json.dumps(without_nul(value)) if "\\u0000" in text else text


def replace_nul(engine: AsyncEngine) -> None:
    """Rewrite the string parameters of every statement `engine` runs (an event hook)."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _parameters_without_nul(
        _connection: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> tuple[str, Any]:
        # the common case, nothing to replace, copies nothing
        return statement, without_nul(parameters) if has_nul(parameters) else parameters
