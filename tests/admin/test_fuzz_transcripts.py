"""The transcript routes under fuzzing: any query string gives a 2xx or a 4xx, never a 5xx,
on SQLite and PostgreSQL (odd dates, cursors, huge numbers, NUL, surrogates, long text)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import strategies as st

from storage.database import Sessions
from tests.admin.transcript_app import transcript_app
from tests.admin.transcript_data import Interview, store
from tests.fuzzing import LONG, run_property

pytestmark = pytest.mark.backends("sqlite", "postgresql")

PATHS = ["/api/v1/conversations", "/api/v1/answers.csv", "/admin/conversations"]
NAMES = [
    "from",
    "to",
    "flow",
    "channel",
    "status",
    "language",
    "metric",
    "band",
    "escalated",
    "q",
    "cursor",
    "limit",
    "lang",
]
ODD = [
    "",
    " ",
    "0",
    "-1",
    "b0",
    "a1",
    "b" + "9" * 18,
    "b" + "9" * 19,
    "9" * 30,
    "true",
    "2026-02-30",
    "2026-03-02T25:00",
    "9999-12-31",
    "0001-01-01",
    "2026-03-02T09:00+14:00",
    "\x00",
    "%00",
    "物流",
    "物",
    "ＡＢＣ",
    "😀",
    "<script>",
    "' OR 1=1 --",
    "%_",
    "x" * 300,
    "nps",
    "low",
    "detractor",
    "handed_off",
]
VALUES = st.one_of(st.sampled_from(ODD), st.text(max_size=40))
QUERIES = st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=5)


@pytest.fixture
async def web(sessions: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    await store(sessions, Interview(score=3, comment="物流太慢 late"))
    await store(sessions, Interview(flow="csat", metric="csat", score=5, comment="=1+1"))
    transport = httpx.ASGITransport(app=transcript_app(sessions))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_no_query_string_makes_a_5xx(web: httpx.AsyncClient) -> None:
    async def check(example: tuple[int, list[tuple[str, str]]]) -> None:
        index, pairs = example
        query = "&".join(
            f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in pairs
        )
        response = await web.get(f"{PATHS[index]}?{query}")
        assert response.status_code < 500, (PATHS[index], pairs, response.text[:300])

    strategy = st.tuples(st.integers(0, len(PATHS) - 1), QUERIES)
    await run_property(strategy, 600 if LONG else 80, check)


async def test_no_conversation_id_makes_a_5xx(web: httpx.AsyncClient) -> None:
    async def check(value: str) -> None:
        for prefix in ("/api/v1/conversations/", "/admin/conversations/"):
            response = await web.get(prefix + quote(value, safe=""))
            assert response.status_code < 500, (prefix, value)

    strategy = st.one_of(
        st.sampled_from(
            [
                "1",
                "0",
                "-1",
                "2147483647",
                "2147483648",
                "9" * 19,
                "9" * 40,
                "1e3",
                "١",
                "１",
                " 1",
                "1.0",
            ]
        ),
        st.text(min_size=1, max_size=20),
        st.integers(-(2**70), 2**70).map(str),
    )
    await run_property(strategy, 200 if LONG else 40, check)
