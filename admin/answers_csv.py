"""The answers export as CSV, streamed batch by batch: a million answers are never in
memory at once, and each batch is its own short read (no long transaction holds a snapshot).

UTF-8 with a byte order mark, so Excel opens Chinese text correctly; cells that a spreadsheet
would run as a formula (starting with = + - @, a tab or a carriage return) get a leading `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from storage.conversation_list import ConversationFilters
from storage.database import Sessions, reading
from storage.transcripts import EXPORT_COLUMNS, answer_batch

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000


def cell(value: Any) -> str | int:
    """One CSV cell: numbers as they are, times in ISO 8601, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def lines(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV text (CRLF line ends, quoted where needed)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([cell(value) for value in row] for row in rows)
    return out.getvalue()


async def answers_csv(
    sessions: Sessions, filters: ConversationFilters, *, batch: int = BATCH
) -> AsyncIterator[bytes]:
    """The CSV in chunks: the BOM and header, then one chunk per batch of answers."""
    yield (BOM + lines([EXPORT_COLUMNS])).encode()
    after = 0
    while True:
        async with reading(sessions) as session:
            rows = await answer_batch(session=session, filters=filters, after_id=after, size=batch)
        if not rows:
            return
        yield lines(rows).encode()
        after = int(rows[-1][0])
