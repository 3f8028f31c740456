"""`/api/v1/conversations[/{id}]` and `/api/v1/answers.csv`: filters, keyset pages that hold
while rows arrive, 404s, 4xx for bad parameters, the CSV's BOM, escaping and chunks."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from admin.answers_csv import answers_csv
from admin.transcripts_api import api_router
from storage.conversation_list import ConversationFilters
from storage.database import Sessions
from tests.admin.transcript_data import T0, Interview, store
from tests.conftest import free_port

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def allow_all() -> None:
    """A guard that lets everyone in (the app wires `access.api_role("agent")`)."""


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(api_router(sessions, agent=allow_all))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def listed(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get("/api/v1/conversations", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]


async def test_filters_select_the_conversations(api: httpx.AsyncClient, sessions: Sessions) -> None:
    detractor = await store(sessions, Interview(score=2, comment="太慢", escalated=True), number=0)
    passive = await store(sessions, Interview(score=7, channel="telegram", language="en"), number=1)
    promoter = await store(sessions, Interview(score=10, status="abandoned"), number=2)
    csat_low = await store(sessions, Interview(flow="csat", metric="csat", score=2), number=3)
    csat_high = await store(sessions, Interview(flow="csat", metric="csat", score=4), number=4)
    ces_mid = await store(sessions, Interview(flow="ces", metric="ces", score=4), number=5)
    unscored = await store(sessions, Interview(score=None, status="active"), number=6)
    everything = [unscored, ces_mid, csat_high, csat_low, promoter, passive, detractor]
    assert ids(await listed(api)) == everything
    assert ids(await listed(api, band="detractor")) == [detractor]
    assert ids(await listed(api, band="passive")) == [passive]
    assert ids(await listed(api, band="promoter")) == [promoter]
    assert ids(await listed(api, band="low")) == [csat_low, detractor]
    assert ids(await listed(api, band="mid")) == [ces_mid, passive]
    assert ids(await listed(api, band="high")) == [csat_high, promoter]
    assert ids(await listed(api, band="low", metric="csat")) == [csat_low]
    assert ids(await listed(api, flow="csat")) == [csat_high, csat_low]
    assert ids(await listed(api, channel="telegram")) == [passive]
    assert ids(await listed(api, language="en")) == [passive]
    assert ids(await listed(api, status="abandoned")) == [promoter]
    assert ids(await listed(api, escalated="true")) == [detractor]
    assert len(ids(await listed(api, escalated="false"))) == 6
    day = (T0 + timedelta(minutes=3)).isoformat()
    assert ids(await listed(api, **{"from": day})) == everything[:4]
    assert ids(await listed(api, to=day)) == everything[4:]
    assert ids(await listed(api, **{"from": "2026-03-02", "to": "2026-03-02"})) == everything
    assert ids(await listed(api, to="2026-03-01")) == []
    first = (await listed(api, band="detractor"))["items"][0]
    assert first["escalated"] is True and first["flow_id"] == "nps"
    assert first["scores"] == [
        {
            "metric": "nps",
            "score": 2,
            "scale_low": 0,
            "scale_high": 10,
            "band": "low",
            "step_id": "ask_score",
        }
    ]


async def test_pages_have_no_duplicates_or_gaps_while_rows_arrive(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    scores: dict[int, int] = {}
    for n in range(23):
        scores[await store(sessions, Interview(score=n % 11, comment="物流"), number=n)] = n % 11
    for query in ({}, {"q": "物流"}, {"band": "low"}):
        expected = [
            ref for ref in sorted(scores, reverse=True) if "band" not in query or scores[ref] <= 6
        ]
        seen: list[int] = []
        pages: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await listed(api, limit=5, **query, **({"cursor": cursor} if cursor else {}))
            pages.append(page)
            seen += ids(page)
            # newer rows arrive while someone pages: they go to page 1, nothing shifts
            scores[await store(sessions, Interview(score=1, comment="物流"))] = 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        back = await listed(api, limit=5, cursor=pages[2]["prev_cursor"], **query)
        assert ids(back) == ids(pages[1])
        assert pages[0]["prev_cursor"] is None
    # the rows added meanwhile are all on the first page now
    assert ids(await listed(api, limit=3)) == sorted(scores, reverse=True)[:3]


async def test_search_gives_a_snippet_with_highlights(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    await store(sessions, Interview(score=3, comment="总的来说还可以，就是物流太慢了"))
    [item] = (await listed(api, q="物流"))["items"]
    text = item["snippet"]["text"]
    assert "物流太慢" in text
    [[start, end]] = item["snippet"]["highlights"]
    assert text[start:end] == "物流"
    assert "snippet" not in (await listed(api))["items"][0]


async def test_one_conversation_and_404s(api: httpx.AsyncClient, sessions: Sessions) -> None:
    ref = await store(
        sessions, Interview(score=1, comment="<script>alert(1)</script>", escalated=True)
    )
    response = await api.get(f"/api/v1/conversations/{ref}")
    assert response.status_code == 200
    body = response.json()
    assert body["conversation"]["id"] == ref
    assert [m["direction"] for m in body["messages"]] == ["out", "in", "out", "in"]
    assert body["messages"][3]["text"] == "<script>alert(1)</script>"
    assert body["metrics"][0]["score"] == 1 and body["metrics"][0]["band"] == "low"
    assert body["answers"][1]["text"] == "<script>alert(1)</script>"
    assert [e["name"] for e in body["events"]] == ["interview-started"]
    assert body["escalations"][0]["reason"] == "low-score"
    for missing in (ref + 1000, 999999999):
        assert (await api.get(f"/api/v1/conversations/{missing}")).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/conversations?cursor=zzz",
        "/api/v1/conversations?cursor=b0",
        "/api/v1/conversations?limit=0",
        "/api/v1/conversations?limit=100000",
        "/api/v1/conversations?limit=x",
        "/api/v1/conversations?band=awful",
        "/api/v1/conversations?status=x",
        "/api/v1/conversations?from=yesterday",
        "/api/v1/conversations?to=2026-13-45",
        "/api/v1/conversations?escalated=maybe",
        "/api/v1/conversations?q=" + "x" * 201,
        "/api/v1/conversations?flow=" + "x" * 65,
        "/api/v1/conversations/abc",
        "/api/v1/conversations/0",
        "/api/v1/conversations/99999999999999999999999",
        "/api/v1/conversations/2147483648",
        "/api/v1/conversations?cursor=b2147483648",
        "/api/v1/answers.csv?band=x",
        "/api/v1/answers.csv?from=2026-02-30",
    ],
)
async def test_bad_parameters_are_4xx(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)
    assert 400 <= response.status_code < 500, response.text


async def test_odd_but_valid_parameters_are_fine(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    await store(sessions, Interview(score=3, comment="ok"))
    for params in (
        {"q": "\x00物流"},
        {"q": "%_'\"\\"},
        {"flow": "問卷"},
        {"q": "😀"},
        {"from": "2026-03-02T09:00:00+08:00"},
        {"q": " "},
    ):
        response = await api.get("/api/v1/conversations", params=params)
        assert response.status_code == 200, (params, response.text)


async def test_the_csv_opens_in_excel_and_defuses_formulas(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    await store(sessions, Interview(score=2, comment='=HYPERLINK("http://x")'))
    await store(sessions, Interview(score=9, comment="物流很快，赞"))
    await store(sessions, Interview(flow="csat", metric="csat", score=5, comment="-1+2"))
    response = await api.get("/api/v1/answers.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["answer_id", "conversation_id", "created_at"]
    texts = [row[11] for row in rows[1:]]
    assert texts == ["", '\'=HYPERLINK("http://x")', "", "物流很快，赞", "", "'-1+2"]
    scores = [row[8] for row in rows[1:]]
    assert scores == ["2", "", "9", "", "5", ""]
    filtered = await api.get("/api/v1/answers.csv", params={"q": "物流", "band": "promoter"})
    assert [r[11] for r in csv.reader(io.StringIO(filtered.text.lstrip("\ufeff")))][1:] == [
        "",
        "物流很快，赞",
    ]


async def test_the_csv_arrives_in_chunks_over_http(sessions: Sessions) -> None:
    """Served by uvicorn: chunked transfer, the BOM and header first, then a chunk per batch."""
    for n in range(9):
        await store(sessions, Interview(score=n, comment=f"第{n}条"), number=n)
    app = FastAPI()
    app.include_router(api_router(sessions, agent=allow_all, csv_batch=4))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        async with (
            httpx.AsyncClient() as client,
            client.stream("GET", f"http://127.0.0.1:{port}/api/v1/answers.csv") as response,
        ):
            assert response.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in response.headers
            chunks = [chunk async for chunk in response.aiter_raw()]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
    body = b"".join(chunks)
    assert body.startswith(b"\xef\xbb\xbfanswer_id,") and body.count(b"\r\n") == 19
    assert len(chunks) >= 2  # never one buffered body (18 answers in batches of 4)


async def test_the_csv_is_produced_in_chunks(sessions: Sessions) -> None:
    for n in range(7):
        await store(sessions, Interview(score=n, comment=f"第{n}条"), number=n)
    chunks = [chunk async for chunk in answers_csv(sessions, ConversationFilters(), batch=3)]
    assert len(chunks) == 1 + 5  # header, then 14 answers in batches of 3
    assert chunks[0].startswith(b"\xef\xbb\xbfanswer_id,")
    assert sum(chunk.count(b"\r\n") for chunk in chunks) == 15
