"""The web chat over HTTP: the app with its lifespan, an in-process client, a real SQLite file."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.visitors import VisitorIds
from bot.webchat import COOKIE
from cxbot.app import BodyLimit, Runtime
from cxbot.flow_sync import FlowSync
from cxbot.settings import Settings
from flows.loader import FlowError
from flows.registry import BUILTIN_DIR

ASK_SCORE_ZH = "您好！您有多大可能把我们推荐给朋友或同事？"
ASK_SCORE_EN = "Hi! How likely are you to recommend us to a friend or colleague?"

_ids = iter(range(10**6))


def client_id() -> str:
    return f"test-client-{next(_ids):06d}"


async def open_page(client: httpx.AsyncClient, flow: str = "nps", **params: str) -> httpx.Response:
    response = await client.get(f"/chat/{flow}", params=params)
    assert response.status_code == 200, response.text
    return response


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], flow: str = "nps"
) -> dict[str, Any]:
    body.setdefault("client_id", client_id())
    response = await client.post(f"/chat/{flow}/messages", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def bot_texts(data: dict[str, Any]) -> list[str]:
    return [m["text"] for m in data["messages"]]


def query(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


def runtime(app: FastAPI) -> Runtime:
    found: Runtime = app.state.runtime
    return found


async def reload_flow_files(app: FastAPI) -> list[FlowError]:
    """What the server's reload task does: read changed files, publish them, apply."""
    sync: FlowSync = app.state.flow_sync
    return await sync.refresh_files()


async def test_page_sets_an_httponly_visitor_cookie(client: httpx.AsyncClient) -> None:
    response = await open_page(client)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain http in tests; https sets it
    visitor = client.cookies[COOKIE]
    assert len(visitor) >= 24
    again = await open_page(client)
    assert "set-cookie" not in again.headers  # the visitor keeps their id
    assert client.cookies[COOKIE] == visitor


async def test_the_visitor_cookie_is_secure_over_https(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as https:
        cookie = (await open_page(https)).headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "; secure" in cookie.lower()
    assert "HttpOnly" in cookie
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        plain = (await open_page(http)).headers["set-cookie"]
    assert plain.startswith(f"{COOKIE}=")
    assert "secure" not in plain.lower()


async def test_page_in_chinese_and_in_english(client: httpx.AsyncClient) -> None:
    zh = await open_page(client)
    assert '<html lang="zh">' in zh.text
    assert "推荐意愿调查" in zh.text
    assert "输入回复…" in zh.text
    en = await open_page(client, lang="en")
    assert '<html lang="en">' in en.text
    assert "<title>Would you recommend us?</title>" in en.text
    assert "Type your answer…" in en.text
    by_header = await client.get("/chat/nps", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in by_header.text
    assert by_header.headers["content-type"].startswith("text/html")


async def test_post_without_the_cookie_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/chat/nps/messages", json={"client_id": client_id(), "start": True}
    )
    assert response.status_code == 401
    assert (await client.get("/chat/nps/messages")).status_code == 401


async def test_non_json_posts_are_refused(client: httpx.AsyncClient, db_path: Path) -> None:
    await open_page(client)
    body = b'{"client_id": "abcdefgh12", "start": true}'
    # not JSON to FastAPI: the body is never parsed, so the model cannot be filled
    form = await client.post("/chat/nps/messages", data={"client_id": client_id(), "text": "9"})
    assert form.status_code == 422
    plain = await client.post(
        "/chat/nps/messages", content=body, headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 422
    # JSON to FastAPI (`+json` counts), but the route takes only application/json
    # (in any case: media types are case-insensitive)
    refused = await client.post(
        "/chat/nps/messages", content=body, headers={"Content-Type": "application/vnd.x+json"}
    )
    assert (refused.status_code, refused.json()) == (415, {"detail": "send JSON"})
    empty = await client.post("/chat/nps/messages", json={"client_id": client_id()})
    assert empty.status_code == 422
    bad_id = await client.post("/chat/nps/messages", json={"client_id": "x", "text": "9"})
    assert bad_id.status_code == 422
    assert query(db_path, "SELECT count(*) FROM message") == [(0,)]
    # the same body as `application/json` (with a charset) is taken
    taken = await client.post(
        "/chat/nps/messages",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert taken.status_code == 200
    assert query(db_path, "SELECT count(*) FROM message") == [(2,)]
    upper = await client.post(
        "/chat/nps/messages",
        content=b'{"client_id": "abcdefgh13", "text": "9"}',
        headers={"Content-Type": "Application/JSON"},
    )
    assert upper.status_code == 200


async def test_chinese_interview_by_buttons(client: httpx.AsyncClient, db_path: Path) -> None:
    await open_page(client)
    start = await post(client, {"start": True, "lang": "zh"})
    question = start["messages"][0]
    assert question["text"].startswith(ASK_SCORE_ZH)
    assert [b["label"] for b in question["buttons"]] == [str(n) for n in range(11)]
    assert start["events"] == ["interview-started"]

    low = await post(client, {"button": question["buttons"][2]["payload"], "lang": "zh"})
    assert bot_texts(low) == ["很抱歉让您失望了。最让您不满意的是什么？"]
    assert low["events"] == ["answer-recorded", "metric-recorded", "escalation-requested"]
    reason = await post(client, {"text": "  快递太慢了  ", "lang": "zh"})
    assert bot_texts(reason) == [
        "谢谢您告诉我们。客服同事会尽快在这里联系您，把问题解决好。",
        "客服同事正在值班，预计 1 小时内在这里回复您。",
    ]
    assert "interview-handed-off" in reason["events"]

    assert query(
        db_path, "SELECT variable, metric, score, text, channel, language FROM answer"
    ) == [
        ("score", "nps", 2, None, "web", "zh"),
        ("reason", None, None, "快递太慢了", "web", "zh"),
    ]
    assert query(db_path, "SELECT reason, priority FROM escalation") == [("detractor", "high")]
    assert query(db_path, "SELECT status, channel FROM conversation") == [("handed_off", "web")]
    history = (await client.get("/chat/nps/messages")).json()["messages"]
    assert [(m["direction"], m["text"]) for m in history if m["direction"] == "in"] == [
        ("in", "2"),  # the tapped button's label, as the customer saw it
        ("in", "快递太慢了"),
    ]
    states = query(db_path, "SELECT direction, delivery_state FROM message ORDER BY id")
    assert states == [("in", "received"), ("out", "sent")] * 3 + [("out", "sent")]  # the wait
    tapped = query(db_path, "SELECT payload FROM message WHERE id = 3")
    assert '"ask_score:2"' in tapped[0][0]


async def test_english_interview_by_typed_text(client: httpx.AsyncClient, db_path: Path) -> None:
    await open_page(client, lang="en")
    start = await post(client, {"start": True, "lang": "en"})
    assert bot_texts(start)[0].startswith(ASK_SCORE_EN)
    unclear = await post(client, {"text": "pretty good", "lang": "en"})
    assert bot_texts(unclear) == [
        "Sorry, I didn't get that. Please reply with a number from 0 to 10, for example 9."
    ]
    assert len(unclear["messages"][0]["buttons"]) == 11  # the buttons come back with the re-ask
    high = await post(client, {"text": "10/10", "lang": "en"})
    assert bot_texts(high) == ["Wonderful! What did you like most?\n(reply “skip” to skip)"]
    done = await post(client, {"text": "Quick answers from real people", "lang": "en"})
    assert bot_texts(done) == ["Thank you for your feedback. Have a great day!"]
    assert done["events"][-1] == "interview-completed"
    assert query(db_path, "SELECT score, text, language FROM answer") == [
        (10, None, "en"),
        (None, "Quick answers from real people", "en"),
    ]
    assert query(db_path, "SELECT status FROM conversation") == [("completed",)]
    history = (await client.get("/chat/nps/messages")).json()
    assert history["open"] is False and history["status"] is None


async def test_a_resend_with_the_same_client_id_is_answered_once(
    client: httpx.AsyncClient, db_path: Path
) -> None:
    await open_page(client)
    await post(client, {"start": True})
    body = {"client_id": "resend-after-timeout-1", "text": "9"}
    first = await post(client, dict(body))
    second = await post(client, dict(body))
    assert first["duplicate"] is False and second["duplicate"] is True
    assert second["messages"] == first["messages"]
    assert second["events"] == []
    assert query(db_path, "SELECT score FROM answer") == [(9,)]
    assert query(
        db_path, "SELECT count(*) FROM message WHERE platform_message_id = 'resend-after-timeout-1'"
    ) == [(1,)]


async def test_markup_from_the_customer_is_stored_and_returned_as_text(
    client: httpx.AsyncClient, db_path: Path
) -> None:
    await open_page(client, lang="en")
    await post(client, {"start": True, "lang": "en"})
    await post(client, {"text": "3"})
    attack = '<script>alert("x")</script> <b>slow</b> & rude'
    await post(client, {"text": attack, "client_id": "markup-message-1"})
    # stored verbatim: neither escaped nor stripped, in the message and in the answer
    assert query(
        db_path, "SELECT text FROM message WHERE platform_message_id = 'markup-message-1'"
    ) == [(attack,)]
    assert query(db_path, "SELECT text FROM answer WHERE text IS NOT NULL") == [(attack,)]
    # returned as JSON text, not as HTML (the page renders it with textContent; the
    # browser test checks that)
    response = await client.get("/chat/nps/messages")
    assert response.headers["content-type"] == "application/json"
    inbound = [m["text"] for m in response.json()["messages"] if m["direction"] == "in"]
    assert inbound == ["3", attack]
    assert "&lt;" not in response.text and "&amp;" not in response.text


async def test_unknown_flow_is_404(client: httpx.AsyncClient) -> None:
    await open_page(client)
    assert (await client.get("/chat/no-such-flow")).status_code == 404
    response = await client.post(
        "/chat/no-such-flow/messages", json={"client_id": client_id(), "start": True}
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "no flow 'no-such-flow'"}  # the API stays JSON


@pytest.mark.parametrize(
    ("params", "header", "lang", "title"),
    [
        ({}, "", "zh", "找不到这份调查"),
        ({}, "en-US,en;q=0.9", "en", "We can’t find this survey"),
        ({"lang": "en"}, "zh-CN", "en", "We can’t find this survey"),
        ({"lang": "zh"}, "en", "zh", "找不到这份调查"),
    ],
)
async def test_an_unknown_survey_link_shows_a_friendly_page(
    client: httpx.AsyncClient, params: dict[str, str], header: str, lang: str, title: str
) -> None:
    page = await client.get("/chat/nope", params=params, headers={"Accept-Language": header})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in page.text
    assert f"<title>{title}</title>" in page.text and f"<h1>{title}</h1>" in page.text
    other = "en" if lang == "zh" else "zh"
    assert f'href="?lang={other}"' in page.text
    assert "detail" not in page.text and "nope" not in page.text
    assert "set-cookie" not in page.headers


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "flows": ["ces", "csat", "nps"], "flow_errors": 0}


async def test_index_lists_the_flows(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    for flow in ("nps", "ces", "csat"):
        assert f"/chat/{flow}" in page.text


async def test_messages_after_an_id_returns_only_newer_ones(client: httpx.AsyncClient) -> None:
    await open_page(client)
    await post(client, {"start": True})
    everything = (await client.get("/chat/nps/messages")).json()
    assert everything["open"] is True and everything["status"] == "active"
    assert [m["direction"] for m in everything["messages"]] == ["out"]  # "/start" is not shown
    ids = [m["id"] for m in everything["messages"]]
    reply = await post(client, {"text": "8"})
    newer = (await client.get("/chat/nps/messages", params={"after": ids[-1]})).json()
    assert [m["direction"] for m in newer["messages"]] == ["in", "out"]
    assert [m["text"] for m in newer["messages"]] == ["8", bot_texts(reply)[0]]
    assert all(m["id"] > ids[-1] for m in newer["messages"])
    latest = newer["messages"][-1]["id"]
    nothing = (await client.get("/chat/nps/messages", params={"after": latest})).json()
    assert nothing["messages"] == []
    # another flow's page sees the nps interview as not its own
    assert (await client.get("/chat/ces/messages")).json()["open"] is False


async def test_visitors_do_not_see_each_other(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as one,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as two,
    ):
        await open_page(one)
        await open_page(two)
        assert one.cookies[COOKIE] != two.cookies[COOKIE]
        await post(one, {"start": True})
        await post(one, {"text": "5"})
        assert (await two.get("/chat/nps/messages")).json()["messages"] == []


async def test_a_broken_flow_file_does_not_replace_the_running_version(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    registry = runtime(app).registry
    own = tmp_path / "flows" / "nps.yaml"
    shutil.copy(BUILTIN_DIR / "nps.yaml", own)
    source = own.read_text(encoding="utf-8")
    own.write_text(source.replace("您好！您有多大可能", "您好（自定义）！您有多大可能"), "utf-8")
    assert await reload_flow_files(app) == []
    running = registry.current("nps")
    assert running is not None and "自定义" in running.source

    own.write_text(source.replace("goto: why_low", "goto: why_lowww"), encoding="utf-8")
    errors = await reload_flow_files(app)
    assert len(errors) >= 1
    assert errors[0].file == str(own)
    assert "why_lowww" in str(errors[0])
    assert registry.current("nps") is running  # still the custom version

    health = (await client.get("/healthz")).json()
    assert health["status"] == "ok"
    assert health["flow_errors"] >= 1
    assert "nps" in health["flows"]
    await open_page(client)
    start = await post(client, {"start": True, "lang": "zh"})
    assert bot_texts(start)[0].startswith("您好（自定义）！")

    own.write_text(source, encoding="utf-8")  # fixed: the errors go away
    assert await reload_flow_files(app) == []
    assert (await client.get("/healthz")).json()["flow_errors"] == 0


async def test_a_flow_added_to_the_folder_is_served_without_a_restart(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert (await client.get("/chat/nps_store")).status_code == 404
    source = (BUILTIN_DIR / "nps.yaml").read_text(encoding="utf-8")
    (tmp_path / "flows" / "nps_store.yaml").write_text(
        source.replace("id: nps", "id: nps_store")
        .replace("[评价, 反馈, feedback]", "[门店]")
        .replace("[/feedback]", "[/store]"),
        encoding="utf-8",
    )
    assert await reload_flow_files(app) == []
    assert (await client.get("/chat/nps_store")).status_code == 200


async def test_a_chunked_body_over_the_limit_is_refused_without_reading_it(
    client: httpx.AsyncClient, app_settings: Settings
) -> None:
    await open_page(client)
    chunk = b"x" * 1_000_000
    pulled = 0

    async def sixty_megabytes() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(60):
            pulled += 1
            yield chunk

    response = await client.post(
        "/chat/nps/messages",
        content=sixty_megabytes(),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers  # sent chunked
    assert response.status_code == 413
    assert response.json() == {"detail": "request body too large"}
    assert len(response.content) < 100  # nothing of the body comes back
    assert pulled <= app_settings.max_body_bytes // len(chunk) + 2


async def test_the_body_limit_counts_bytes_for_any_route() -> None:
    """A webhook reads its body its own way; the limit holds there too."""
    read: list[int] = []

    async def webhook(request: Request) -> PlainTextResponse:
        body = await request.body()
        read.append(len(body))
        return PlainTextResponse(f"got {len(body)}")

    inner = Starlette(routes=[Route("/hook", webhook, methods=["POST"])])
    transport = httpx.ASGITransport(app=BodyLimit(inner, max_bytes=1000))
    pulled = 0

    async def chunks(count: int) -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(count):
            pulled += 1
            yield b"y" * 400

    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as hook:
        small = await hook.post("/hook", content=chunks(2))
        assert (small.status_code, small.text) == (200, "got 800")
        pulled = 0
        big = await hook.post("/hook", content=chunks(1000))
        assert big.status_code == 413
        assert pulled == 3  # stopped at the first chunk past the limit
        declared = await hook.post("/hook", content=b"z" * 1001)
        assert declared.status_code == 413
    assert read == [800]  # the webhook never saw the large bodies


async def test_validation_errors_do_not_echo_the_input(client: httpx.AsyncClient) -> None:
    await open_page(client)
    secret = "hunter2-" * 400  # over 2000 characters
    response = await client.post(
        "/chat/nps/messages", json={"client_id": client_id(), "text": secret}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(e["loc"], e["type"]) for e in detail] == [(["body", "text"], "string_too_long")]
    assert "at most 2000 characters" in detail[0]["msg"]
    assert "hunter2" not in response.text
    surrogate = await client.post(
        "/chat/nps/messages",
        content=b'{"client_id": "\\ud800", "text": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422
    assert surrogate.json()["detail"][0]["loc"] == ["body", "client_id"]
    in_text = await client.post(
        "/chat/nps/messages",
        content=b'{"client_id": "abcdefgh12", "text": "a\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert in_text.status_code == 422
    assert [(e["loc"], e["type"]) for e in in_text.json()["detail"]] == [
        (["body", "text"], "string_unicode")
    ]
    odd_key = await client.post(
        "/chat/nps/messages",
        content=b'["\\ud800"]',
        headers={"Content-Type": "application/json"},
    )
    assert odd_key.status_code == 422


async def test_history_after_is_bounded_and_the_flow_must_exist(
    client: httpx.AsyncClient,
) -> None:
    await open_page(client)
    for after in (str(2**63), "99999999999999999999999", "-1"):
        response = await client.get("/chat/nps/messages", params={"after": after})
        assert response.status_code == 422, after
    largest = await client.get("/chat/nps/messages", params={"after": str(2**63 - 1)})
    assert largest.status_code == 200 and largest.json()["messages"] == []
    assert (await client.get("/chat/nope/messages")).status_code == 404


OTHER_KEY = VisitorIds(b"another server's key, 32 bytes+")
SIGNED = re.compile(r"[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}")


def signed_cookie(app: FastAPI) -> str:
    """A visitor cookie as this app's page would issue it."""
    return runtime(app).visitor_ids.issue()


@pytest.mark.parametrize(
    "cookie",
    [
        "a" * 31,
        "a" * 32,  # the shape unsigned ids had: anyone could pick one
        "Ab0_-" * 6 + "zz",
        "a" * 32 + "." + "b" * 43,
        "a" * 32 + ".",
        "ab cd" * 6 + "ef",
        "ä" * 32,
        "",
        OTHER_KEY.issue(),  # signed, but by another key
    ],
)
async def test_a_visitor_cookie_not_issued_by_the_server_is_no_cookie(
    app: FastAPI, cookie: str, db_path: Path
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as forged:
        headers = {"Cookie": f"{COOKIE}={cookie}".encode()}
        response = await forged.post(
            "/chat/nps/messages", json={"client_id": client_id(), "start": True}, headers=headers
        )
        assert response.status_code == 401
        assert (await forged.get("/chat/nps/messages", headers=headers)).status_code == 401
        page = await forged.get("/chat/nps", headers=headers)
        assert page.status_code == 200
        issued = page.cookies[COOKIE]
        assert SIGNED.fullmatch(issued)
    assert query(db_path, "SELECT count(*) FROM customer") == [(0,)]


async def test_a_tampered_cookie_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    visitor, signature = signed_cookie(app).split(".")
    other = ("b" if visitor[0] == "a" else "a") + visitor[1:]
    client.cookies.set(COOKIE, f"{other}.{signature}")
    response = await client.post("/chat/nps/messages", json={"client_id": client_id()})
    assert response.status_code == 401


async def test_a_cookie_the_server_signed_is_kept(
    app: FastAPI, client: httpx.AsyncClient, db_path: Path
) -> None:
    token = signed_cookie(app)
    client.cookies.set(COOKIE, token)
    page = await open_page(client)
    assert "set-cookie" not in page.headers
    assert (await post(client, {"start": True}))["events"] == ["interview-started"]
    # the customer id is the random part; the signature is not stored
    assert query(db_path, "SELECT external_id FROM customer") == [(token.split(".")[0],)]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,en;q=0.8", "en"),
        ("fr-FR, de;q=0.9, en-GB;q=0.5", "en"),
        ("en;q=0.4, zh-CN;q=0.9", "zh"),
        ("en;q=0, fr", "zh"),  # q=0 means "not this one": the flow's default
        ("*", "zh"),
        ("en;q=bogus, zh;q=0.1", "zh"),
        ("", "zh"),
    ],
)
async def test_accept_language_is_read_whole_in_q_order(
    client: httpx.AsyncClient, header: str, expected: str
) -> None:
    page = await client.get("/chat/nps", headers={"Accept-Language": header})
    assert f'<html lang="{expected}">' in page.text


async def test_history_tells_the_page_how_this_flow_stands(client: httpx.AsyncClient) -> None:
    await open_page(client, lang="en")
    fresh = (await client.get("/chat/nps/messages")).json()
    assert fresh == {"messages": [], "open": False, "status": None, "flow_status": None}
    await post(client, {"start": True, "lang": "en"})
    assert (await client.get("/chat/nps/messages")).json()["flow_status"] == "active"
    await post(client, {"text": "10"})
    done = await post(client, {"text": "skip"})
    assert "interview-completed" in done["events"]
    ended = (await client.get("/chat/nps/messages")).json()
    assert (ended["open"], ended["status"], ended["flow_status"]) == (False, None, "completed")
    assert len(ended["messages"]) == 5  # the transcript stays for the page to show
    other = (await client.get("/chat/ces/messages")).json()
    assert (other["open"], other["flow_status"]) == (False, None)  # never taken: start it


async def test_restart_starts_a_handed_off_conversation_again(
    client: httpx.AsyncClient, db_path: Path
) -> None:
    await open_page(client)
    await post(client, {"start": True, "lang": "zh"})
    await post(client, {"text": "2"})
    handed = await post(client, {"text": "物流太慢了"})
    assert "interview-handed-off" in handed["events"]
    history = (await client.get("/chat/nps/messages")).json()
    assert (history["open"], history["status"], history["flow_status"]) == (
        True,
        "handed_off",
        "handed_off",
    )
    # a plain start while an agent has the conversation goes to the agent
    plain = await post(client, {"start": True, "lang": "zh"})
    assert plain["messages"] == [] and plain["events"] == []
    # another flow's page sees the handed-off conversation, not its own
    ces = (await client.get("/chat/ces/messages")).json()
    assert (ces["open"], ces["status"], ces["flow_status"]) == (False, "handed_off", None)
    assert len(ces["messages"]) == 6  # the history to show under a note (with the wait)
    again = await post(client, {"start": True, "restart": True, "lang": "zh"})
    assert again["events"] == ["interview-abandoned", "interview-started"]
    assert bot_texts(again)[0].startswith(ASK_SCORE_ZH)
    assert query(db_path, "SELECT status FROM conversation ORDER BY id") == [
        ("abandoned",),
        ("active",),
    ]
