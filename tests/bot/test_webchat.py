"""The web chat over HTTP: the app with its lifespan, an in-process client, a real SQLite file."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bot.webchat import COOKIE
from cxbot.app import Runtime
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


async def test_page_in_chinese_and_in_english(client: httpx.AsyncClient) -> None:
    zh = await open_page(client)
    assert '<html lang="zh">' in zh.text
    assert "净推荐值（NPS）调查" in zh.text
    assert "输入回复…" in zh.text
    en = await open_page(client, lang="en")
    assert '<html lang="en">' in en.text
    assert "<title>Net Promoter Score survey</title>" in en.text
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
    form = await client.post("/chat/nps/messages", data={"client_id": client_id(), "text": "9"})
    assert form.status_code in (415, 422)
    plain = await client.post(
        "/chat/nps/messages",
        content=b'{"client_id": "abcdefgh12", "start": true}',
        headers={"Content-Type": "text/plain"},
    )
    assert plain.status_code in (415, 422)
    empty = await client.post("/chat/nps/messages", json={"client_id": client_id()})
    assert empty.status_code == 422
    bad_id = await client.post("/chat/nps/messages", json={"client_id": "x", "text": "9"})
    assert bad_id.status_code == 422
    assert query(db_path, "SELECT count(*) FROM message") == [(0,)]


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
    assert bot_texts(reason) == ["谢谢您告诉我们。客服同事会尽快在这里联系您，把问题解决好。"]
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
    assert states == [("in", "received"), ("out", "sent")] * 3
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
    await post(client, {"text": attack})
    assert query(db_path, "SELECT text FROM answer WHERE text IS NOT NULL") == [(attack,)]
    history = (await client.get("/chat/nps/messages")).json()
    inbound = [m["text"] for m in history["messages"] if m["direction"] == "in"]
    assert attack in inbound  # JSON carries the text; the page renders it with textContent
    page = await open_page(client)
    assert "<script>alert" not in page.text


async def test_unknown_flow_is_404(client: httpx.AsyncClient) -> None:
    await open_page(client)
    assert (await client.get("/chat/no-such-flow")).status_code == 404
    response = await client.post(
        "/chat/no-such-flow/messages", json={"client_id": client_id(), "start": True}
    )
    assert response.status_code == 404


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
    assert registry.refresh() == []
    running = registry.current("nps")
    assert running is not None and "自定义" in running.source

    own.write_text(source.replace("goto: why_low", "goto: why_lowww"), encoding="utf-8")
    errors = registry.refresh()
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
    assert registry.refresh() == []
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
    assert runtime(app).registry.refresh() == []
    assert (await client.get("/chat/nps_store")).status_code == 200
