"""The flow studio's pages and page-internal routes, in process: roles and CSRF on each one,
the preview's problems equal to `cxbot check`'s, the diff, and the simulator — which writes
nothing to the database (counted on SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from flows.validation import validate
from tests.admin.conftest import Visitor

NPS = (Path(__file__).parents[2] / "flows" / "builtin" / "nps.yaml").read_text("utf-8")
PAGES = ("/admin/flows", "/admin/flows/nps", "/admin/flow-diagram")
ROW_TABLES = ("customer", "conversation", "message", "answer", "escalation", "event")


async def post_json(visitor: Visitor, path: str, body: dict[str, Any], *, csrf: bool = True):
    headers = {"X-CSRF-Token": visitor.csrf} if csrf else {}
    return await visitor.http.post(path, json=body, headers=headers)


@pytest.mark.parametrize("path", PAGES)
async def test_pages_are_for_admins_only(signed_in: dict[str, Visitor], path: str) -> None:
    anonymous = await signed_in["anonymous"].get(path)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/admin/login?next=")
    for role in ("viewer", "agent"):
        refused = await signed_in[role].get(path)
        assert refused.status_code == 403, role
    assert (await signed_in["admin"].get(path)).status_code == 200


@pytest.mark.parametrize("path", ["/admin/flows/preview", "/admin/flows/simulate"])
async def test_the_json_routes_need_an_admin_and_the_csrf_token(
    signed_in: dict[str, Visitor], path: str
) -> None:
    body = {"source": NPS, "action": "start"}
    assert (await post_json(signed_in["anonymous"], path, body)).status_code == 401
    assert (await post_json(signed_in["viewer"], path, body)).status_code == 403
    assert (await post_json(signed_in["agent"], path, body)).status_code == 403
    admin = signed_in["admin"]
    assert (await post_json(admin, path, body, csrf=False)).status_code == 403
    assert (await post_json(admin, path, body)).status_code == 200


async def test_the_list_shows_each_flow_with_its_revision_and_triggers(
    signed_in: dict[str, Visitor],
) -> None:
    page = (await signed_in["admin"].get("/admin/flows?lang=en")).text
    assert 'href="/admin/flows/nps"' in page
    assert "revision 1" in page
    assert "/feedback" in page  # the NPS flow's command
    assert "Published" in page


async def test_the_editor_carries_the_published_text_escaped(
    signed_in: dict[str, Visitor], app: FastAPI
) -> None:
    admin = signed_in["admin"]
    hostile = NPS.replace("Would you recommend us?", "</script><script>alert(1)</script>")
    studio = app.state.flow_studio
    await studio.publish("nps", author="ann", source=hostile)
    page = (await admin.get("/admin/flows/nps?lang=zh")).text
    assert "<script>alert(1)" not in page
    assert "\\u003c/script\\u003e" in page  # inside the JSON the page's script reads
    assert "编辑流程" in page
    assert (await admin.get("/admin/flows/no-such-flow")).status_code == 404


async def test_the_preview_reports_what_cxbot_check_reports(signed_in: dict[str, Visitor]) -> None:
    broken = NPS.replace("goto: why_high", "goto: why_hihg").replace("  en: Hi!", "  fr: Hi!")
    answer = await post_json(signed_in["admin"], "/admin/flows/preview", {"source": broken})
    found = answer.json()
    expected = validate(broken, file="draft").problems
    assert [(e["line"], e["col"], e["message"]) for e in found["errors"]] == [
        (p.line, p.column, p.message) for p in expected
    ]
    assert any("why_hihg" in e["message"] for e in found["errors"])
    assert found["ok"] is False and found["version"] is None
    # the texts and the diagram are still shown while the text has errors
    ask = next(row for row in found["texts"] if row["where"] == "step 'ask_score', text")
    assert ask["missing"] == ["en"]
    assert set(found["diagrams"]) == {"zh", "en"}
    assert "why_low" in found["diagrams"]["en"]


async def test_the_preview_of_a_valid_text_and_of_unreadable_yaml(
    signed_in: dict[str, Visitor],
) -> None:
    admin = signed_in["admin"]
    good = await post_json(admin, "/admin/flows/preview", {"source": NPS, "flow_id": "nps"})
    assert good.json()["ok"] is True
    assert len(good.json()["version"]) == 12
    assert all(not row["missing"] for row in good.json()["texts"])
    other = await post_json(admin, "/admin/flows/preview", {"source": NPS, "flow_id": "ces"})
    assert "must stay 'ces'" in other.json()["errors"][0]["message"]
    garbage = await post_json(admin, "/admin/flows/preview", {"source": "id: [unclosed\n"})
    assert garbage.status_code == 200
    assert garbage.json()["errors"][0]["line"] >= 1
    assert garbage.json()["texts"] == [] and garbage.json()["diagrams"] == {}


async def test_a_malformed_request_is_a_4xx(signed_in: dict[str, Visitor]) -> None:
    admin = signed_in["admin"]
    headers = {"X-CSRF-Token": admin.csrf, "Content-Type": "application/json"}
    bad_json = await admin.http.post("/admin/flows/preview", content=b"{", headers=headers)
    assert bad_json.status_code == 422
    too_big = await post_json(admin, "/admin/flows/preview", {"source": "x" * 300_000})
    assert too_big.status_code in (413, 422)
    unknown = await post_json(admin, "/admin/flows/simulate", {"source": NPS, "action": "dance"})
    assert unknown.status_code == 422


async def test_the_diff_compares_with_the_published_revision(
    signed_in: dict[str, Visitor],
) -> None:
    admin = signed_in["admin"]
    changed = NPS.replace("最让您不满意的是什么？", "哪里让您不满意？")
    found = (await post_json(admin, "/admin/flows/nps/diff", {"source": changed})).json()
    assert found["revision"] == 1
    assert (found["added"], found["removed"]) == (1, 1)
    removed = next(line for line in found["lines"] if line["kind"] == "removed")
    added = next(line for line in found["lines"] if line["kind"] == "added")
    assert "最让您不满意的是什么？" in removed["text"] and "哪里让您不满意？" in added["text"]
    assert removed["old"] == added["new"]  # the same line, changed
    same = (await post_json(admin, "/admin/flows/nps/diff", {"source": NPS})).json()
    assert same["same"] is True and same["lines"] == []
    new = (await post_json(admin, "/admin/flows/nope/diff", {"source": NPS})).json()
    assert new["revision"] == 0 and new["removed"] == 0
    assert new["added"] == len(NPS.splitlines())


async def test_a_new_flow_starts_from_a_valid_text_and_is_published_through_the_api(
    signed_in: dict[str, Visitor],
) -> None:
    admin = signed_in["admin"]
    bad = await admin.get("/admin/flows?new=Not%20an%20id&lang=en")
    assert bad.status_code == 200 and "A flow id starts with a lower-case letter" in bad.text
    opened = await admin.get("/admin/flows?new=after_purchase")
    assert opened.status_code == 303
    assert opened.headers["location"] == "/admin/flows/after_purchase?new=1"
    assert (await admin.get("/admin/flows/after_purchase")).status_code == 404
    page = await admin.get("/admin/flows/after_purchase?new=1")
    starter = re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.S)
    assert starter is not None
    source = html.unescape(starter[1])
    assert "id: after_purchase" in source and validate(source).ok
    published = await post_json(admin, "/api/v1/flows/after_purchase/publish", {"source": source})
    assert published.status_code == 201 and published.json()["revision"] == 1
    listed = await admin.get("/admin/flows")
    assert 'href="/admin/flows/after_purchase"' in listed.text


async def simulate(admin: Visitor, **body: Any) -> httpx.Response:
    return await post_json(admin, "/admin/flows/simulate", {"source": NPS, **body})


async def counts(app: FastAPI) -> dict[str, int]:
    engine = app.state.runtime.engine
    async with engine.connect() as connection:
        return {
            table: (await connection.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one()
            for table in ROW_TABLES
        }


@pytest.mark.backends("sqlite", "postgresql")
async def test_the_simulator_runs_an_interview_and_writes_nothing(
    signed_in: dict[str, Visitor], app: FastAPI
) -> None:
    admin = signed_in["admin"]
    before = await counts(app)
    start = (
        await simulate(
            admin,
            action="start",
            language="en",
            variables={"customer_name": "Mei", "brand": "Acme"},
        )
    ).json()
    assert start["messages"][0]["text"].startswith("Hi! How likely are you to recommend Acme")
    assert [b["payload"] for b in start["messages"][0]["buttons"]][:2] == [
        "ask_score:0",
        "ask_score:1",
    ]
    assert start["events"][0]["name"] == "interview-started"
    tapped = (
        await simulate(admin, action="button", value="ask_score:3", token=start["token"])
    ).json()
    assert tapped["messages"][0]["text"] == "Sorry we let you down. What went wrong?"
    names = [e["name"] for e in tapped["events"]]
    assert names == ["answer-recorded", "metric-recorded", "escalation-requested"]
    typed = (await simulate(admin, action="text", value="送货太慢了", token=tapped["token"])).json()
    names = [e["name"] for e in typed["events"]]
    assert names[0] == "language-changed"  # the customer wrote Chinese
    assert typed["status"] == "handed_off" and typed["language"] == "zh"
    assert "客服同事" in typed["messages"][0]["text"]
    quiet = (await simulate(admin, action="text", value="hello?", token=typed["token"])).json()
    assert quiet["messages"] == [] and quiet["events"] == []  # handed off: the bot is silent
    assert await counts(app) == before


async def test_the_simulator_hands_off_on_request_and_stops(signed_in: dict[str, Visitor]) -> None:
    admin = signed_in["admin"]
    start = (await simulate(admin, action="start", language="zh")).json()
    human = (await simulate(admin, action="text", value="转人工", token=start["token"])).json()
    assert human["status"] == "handed_off"
    assert human["events"][0]["data"]["reason"] == "customer-request"
    start = (await simulate(admin, action="start", language="zh")).json()
    stopped = (await simulate(admin, action="stop", token=start["token"])).json()
    assert stopped["status"] == "abandoned"
    start = (await simulate(admin, action="start", language="zh")).json()
    tapped = await simulate(admin, action="button", value="ask_score:9", token=start["token"])
    alarm = (
        await simulate(admin, action="text", value="我要投诉你们", token=tapped.json()["token"])
    ).json()  # an alert word of the server (CXBOT_ALERT_WORDS)
    assert alarm["status"] == "handed_off"
    assert alarm["events"][0]["data"]["reason"] == "alert-word"


async def test_the_simulator_refuses_a_forged_state_a_changed_text_and_errors(
    signed_in: dict[str, Visitor], caplog: pytest.LogCaptureFixture
) -> None:
    admin = signed_in["admin"]
    start = (await simulate(admin, action="start")).json()
    with caplog.at_level(logging.WARNING):
        forged = await simulate(admin, action="text", value="3", token=start["token"][:-2] + "xx")
    assert forged.status_code == 400
    assert "simulator's state is not valid" in caplog.text
    changed = await post_json(
        admin,
        "/admin/flows/simulate",
        {
            "source": NPS.replace("Hi!", "Hello!"),
            "action": "text",
            "value": "3",
            "token": start["token"],
        },
    )
    assert changed.status_code == 409 and changed.json()["code"] == "changed"
    broken = await post_json(
        admin, "/admin/flows/simulate", {"source": "id: x\n", "action": "start"}
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["message"]


async def test_only_the_diagram_frame_may_apply_inline_styles(
    signed_in: dict[str, Visitor],
) -> None:
    admin = signed_in["admin"]
    frame = await admin.get("/admin/flow-diagram")
    policy = frame.headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "frame-ancestors 'self'" in policy and "script-src 'self';" in policy
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    editor = await admin.get("/admin/flows/nps")
    policy = editor.headers["content-security-policy"]
    assert "style-src 'self';" in policy and "unsafe-inline" not in policy
    assert "frame-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert editor.headers["x-frame-options"] == "DENY"
    listing = await admin.get("/admin/flows")
    assert "frame-src" not in listing.headers["content-security-policy"]
