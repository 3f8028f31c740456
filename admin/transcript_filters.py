"""The conversation filters as query parameters, shared by the list page, the JSON API and
the CSV export: `from`, `to`, `flow`, `channel`, `status`, `language`, `metric`, `band`,
`escalated`, `q` (search text), `cursor`, `limit`. A malformed value is a 422, never a 500.

Dates: `from` and `to` take `YYYY-MM-DD` (a whole day, UTC; `to` includes its day) or an
ISO 8601 date-time (UTC unless it names its offset; `to` then excludes that instant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import HTTPException, Query

from storage.conversation_list import BANDS, ConversationFilters, Cursor

STATUSES = ("active", "completed", "abandoned", "handed_off")
MAX_LIMIT = 200
_YES, _NO = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _invalid(name: str, message: str) -> HTTPException:
    return HTTPException(
        status_code=422,
        detail=[{"loc": ["query", name], "msg": message, "type": "value_error"}],
    )


def parse_moment(name: str, value: str | None, *, end: bool) -> datetime | None:
    """A `from`/`to` bound: a date (its start; for `to` the next day's) or a date-time."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        parsed = datetime.fromisoformat(text)
        # in UTC now: year 1 at +14:00 or year 9999 at -05:00 has no UTC time (OverflowError
        # here, not a 500 when the query binds it)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise _invalid(name, "expected YYYY-MM-DD or an ISO 8601 date-time") from None


Text64 = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class ListQuery:
    """The parsed query: filters, cursor and page size, and the raw values for links."""

    filters: ConversationFilters
    cursor: Cursor | None
    limit: int
    raw: tuple[tuple[str, str], ...]
    """The filter parameters as given (no cursor), to build the next links and the CSV's."""

    def link(self, **extra: str) -> str:
        """`?…` with the same filters and `extra` (a cursor, a language)."""
        return "?" + urlencode([*self.raw, *extra.items()])


async def list_query(
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    flow: Text64 = None,
    channel: Text64 = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    metric: Annotated[str | None, Query(max_length=32)] = None,
    band: Annotated[str | None, Query(max_length=16)] = None,
    escalated: Annotated[str | None, Query(max_length=8)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> ListQuery:
    """The filters of a request (a FastAPI dependency); empty values mean no filter (a
    form's "any")."""
    status = status or None
    if status is not None and status not in STATUSES:
        raise _invalid("status", f"one of {', '.join(STATUSES)}")
    band = band or None
    if band is not None and band not in BANDS:
        raise _invalid("band", f"one of {', '.join(BANDS)}")
    flag = (escalated or "").lower()
    if flag and flag not in _YES + _NO:
        raise _invalid("escalated", "true or false")
    given = {
        "from": from_,
        "to": to,
        "flow": flow,
        "channel": channel,
        "status": status,
        "language": language,
        "metric": metric,
        "band": band,
        "escalated": flag,
        "q": q,
    }
    raw = tuple((k, v) for k, v in given.items() if v is not None and v.strip())
    try:
        parsed_cursor = Cursor.parse(cursor) if cursor else None
    except ValueError:
        raise _invalid("cursor", "not a cursor this API gave out") from None
    filters = ConversationFilters(
        since=parse_moment("from", from_, end=False),
        until=parse_moment("to", to, end=True),
        flow=flow or None,
        channel=channel or None,
        status=status,
        language=language or None,
        metric=metric or None,
        band=band,
        escalated=(flag in _YES) if flag else None,
        text=q if q and q.strip() else None,
    )
    return ListQuery(filters, parsed_cursor, limit, raw)
