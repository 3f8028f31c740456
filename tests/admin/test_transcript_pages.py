"""The transcript pages: the list with search, snippets and pages, one conversation as a chat;
customer text always escaped; 404 for an unknown conversation; both languages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape

import httpx
import pytest

from storage.database import Sessions
from tests.admin.transcript_app import transcript_app
from tests.admin.transcript_data import Interview, store

XSS = "<script>alert(1)</script>"


@pytest.fixture
async def web(sessions: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=transcript_app(sessions))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_list_searches_and_marks_the_match(
    web: httpx.AsyncClient, sessions: Sessions
) -> None:
    slow = await store(sessions, Interview(score=3, comment="包装还行，物流太慢了", escalated=True))
    await store(sessions, Interview(score=10, comment="很满意"))
    page = await web.get("/admin/conversations", params={"q": "物流", "lang": "zh"})
    assert page.status_code == 200
    assert page.text.count('href="/admin/conversations/') == 1
    assert f'href="/admin/conversations/{slow}"' in page.text
    assert "<mark>物流</mark>太慢了" in page.text
    assert 'value="物流"' in page.text
    assert 'href="/api/v1/answers.csv?q=%E7%89%A9%E6%B5%81"' in page.text
    assert "NPS 3" in page.text and "已完成</span>" in page.text
    english = await web.get("/admin/conversations", params={"lang": "en"})
    assert "Download CSV" in english.text and "Detractors (0–6)" in english.text
    assert english.text.count('href="/admin/conversations/') == 2


async def test_customer_text_is_escaped_on_both_pages(
    web: httpx.AsyncClient, sessions: Sessions
) -> None:
    ref = await store(sessions, Interview(score=1, said=[XSS], comment=f"{XSS} 物流"))
    for path in (
        "/admin/conversations?q=script",
        f"/admin/conversations/{ref}",
        "/admin/conversations?q=物流",
    ):
        page = await web.get(path)
        assert page.status_code == 200, path
        assert XSS not in page.text, path
        assert "&lt;" in page.text and "alert(1)" in page.text, path
    listed = await web.get("/admin/conversations?q=script")
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in listed.text


async def test_pages_link_to_older_and_newer(web: httpx.AsyncClient, sessions: Sessions) -> None:
    refs = [await store(sessions, Interview(score=5), number=n) for n in range(5)]
    first = await web.get("/admin/conversations?limit=2&band=detractor")
    older = unescape(re.search(r'rel="next" href="([^"]+)"', first.text)[1])  # type: ignore[index]
    assert "band=detractor" in older and 'rel="prev"' not in first.text
    second = await web.get("/admin/conversations" + older)
    assert f'/admin/conversations/{refs[2]}"' in second.text
    newer = unescape(re.search(r'rel="prev" href="([^"]+)"', second.text)[1])  # type: ignore[index]
    back = await web.get("/admin/conversations" + newer)
    assert f'/admin/conversations/{refs[4]}"' in back.text


async def test_one_conversation_reads_as_a_chat(web: httpx.AsyncClient, sessions: Sessions) -> None:
    ref = await store(sessions, Interview(score=2, comment="客服没回复\n第二行", escalated=True))
    page = await web.get(f"/admin/conversations/{ref}?lang=en")
    assert page.status_code == 200
    lines = re.findall(r'<div class="line (\w+)">', page.text)
    assert lines == ["staff", "customer", "staff", "customer"]
    assert "客服没回复\n第二行" in page.text
    assert "NPS 2" in page.text and "low-score" in page.text and "interview-started" in page.text
    assert "Escalation history" in page.text
    chinese = await web.get(f"/admin/conversations/{ref}?lang=zh")
    assert "人工跟进记录" in chinese.text and "聊天记录" in chinese.text


async def test_unknown_or_malformed_ids_are_4xx(web: httpx.AsyncClient) -> None:
    assert (await web.get("/admin/conversations/424242")).status_code == 404
    assert (await web.get("/admin/conversations/abc")).status_code == 422
    assert (await web.get("/admin/conversations?band=x")).status_code == 422
    empty_form = "/admin/conversations?q=&from=&to=&flow=&channel=&status=&band=&escalated="
    assert (await web.get(empty_form)).status_code == 200
