"""The agents' pages and the escalations API in process: roles, CSRF, forms, JSON answers,
4xx (never 500) for bad input, customer text escaped. A detractor on the web chat opens the
case; the customer's page reads the agent's reply and answers the closing question.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from admin import tokens
from tests.admin.conftest import Visitor
from tests.conftest import START

pytestmark = pytest.mark.backends("sqlite", "postgresql")

IDS = itertools.count(1)


class WebCustomer:
    """A visitor of the web chat page (its own cookie jar)."""

    def __init__(self, app: FastAPI) -> None:
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

    async def open(self, lang: str = "zh") -> None:
        assert (await self.http.get(f"/chat/nps?lang={lang}")).status_code == 200

    async def post(self, **body: Any) -> dict[str, Any]:
        body.setdefault("client_id", f"client-{next(IDS):04d}")
        response = await self.http.post("/chat/nps/messages", json=body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def history(self) -> dict[str, Any]:
        data: dict[str, Any] = (await self.http.get("/chat/nps/messages?after=0")).json()
        return data

    async def close(self) -> None:
        await self.http.aclose()


async def detractor(app: FastAPI, why: str = "<script>alert(1)</script> 送货太慢") -> WebCustomer:
    customer = WebCustomer(app)
    await customer.open()
    await customer.post(start=True, lang="zh")
    await customer.post(text="2")
    await customer.post(text=why)
    return customer


async def bearer(app: FastAPI, role: str = "agent") -> dict[str, str]:
    created = await tokens.create(
        app.state.admin_auth.writer, name=f"helpdesk-{role}", role=role, now=START, created_by=None
    )
    return {"Authorization": f"Bearer {created.secret}"}


async def test_pages_need_the_agent_role(signed_in: dict[str, Visitor], app: FastAPI) -> None:
    customer = await detractor(app)
    anonymous = await signed_in["anonymous"].get("/admin/escalations")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/admin/login?next=")
    assert (await signed_in["viewer"].get("/admin/escalations")).status_code == 403
    assert (await signed_in["viewer"].get("/admin/escalations/1")).status_code == 403
    viewer_post = await signed_in["viewer"].post("/admin/escalations/1/claim")
    assert viewer_post.status_code == 403
    stream = await signed_in["viewer"].http.get("/admin/escalations/1/events")
    assert stream.status_code == 403
    for role in ("agent", "admin"):
        assert (await signed_in[role].get("/admin/escalations")).status_code == 200
    await customer.close()


async def test_the_queue_and_case_page_escape_the_customers_text(
    signed_in: dict[str, Visitor], app: FastAPI
) -> None:
    customer = await detractor(app)
    agent = signed_in["agent"]
    queue = await agent.get("/admin/escalations?lang=en")
    assert queue.status_code == 200
    assert "<script>alert(1)</script>" not in queue.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 送货太慢" in queue.text
    assert "NPS 2" in queue.text and "detractor (low NPS)" in queue.text
    assert "Web chat" in queue.text and " left" in queue.text
    page = await agent.get("/admin/escalations/1?lang=zh")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "案例 #1" in page.text and "认领" in page.text
    assert (await agent.get("/admin/escalations/999")).status_code == 404
    assert (await agent.get("/admin/escalations/99999999999")).status_code == 422
    await customer.close()


async def test_the_forms_claim_reply_note_and_resolve(
    signed_in: dict[str, Visitor], app: FastAPI
) -> None:
    customer = await detractor(app)
    agent = signed_in["agent"]
    await agent.get("/admin/escalations/1")
    forged = await agent.post("/admin/escalations/1/claim", csrf=False)
    assert forged.status_code == 403
    claimed = await agent.post("/admin/escalations/1/claim")
    assert claimed.status_code == 303 and claimed.headers["location"] == "/admin/escalations/1"
    page = await agent.get("/admin/escalations/1?lang=en")
    assert "You claimed case #1." in page.text and "Assigned to bo" in page.text
    again = await agent.post("/admin/escalations/1/claim")
    assert again.status_code == 409 and "Another agent claimed this case first." in again.text
    sent = await agent.post("/admin/escalations/1/reply", {"text": "您好，我是客服小王。"})
    assert sent.status_code == 303
    # the customer's web chat page reads the reply (its poll)
    history = await customer.history()
    assert history["messages"][-1]["author"] == "agent"
    assert history["messages"][-1]["text"] == "您好，我是客服小王。"
    empty = await agent.post("/admin/escalations/1/reply", {"text": "   "})
    assert empty.status_code == 422
    assert (await agent.post("/admin/escalations/1/note", {"text": "VIP"})).status_code == 303
    assert (
        await agent.post("/admin/escalations/1/status", {"status": "waiting"})
    ).status_code == 303
    bad = await agent.post("/admin/escalations/1/status", {"status": "nonsense"})
    assert bad.status_code == 422
    wrong = await agent.post("/admin/escalations/1/resolve", {"outcome": "nonsense"})
    assert wrong.status_code == 422
    done = await agent.post(
        "/admin/escalations/1/resolve", {"outcome": "fixed", "note": "补发", "ask": "yes"}
    )
    assert done.status_code == 303
    history = await customer.history()
    question = history["messages"][-1]
    assert question["text"] == "您的问题解决了吗？"
    assert [b["payload"] for b in question["buttons"]] == ["closing:yes", "closing:no"]
    answer = await customer.post(button="closing:yes")
    assert answer["messages"][0]["text"].startswith("太好了")
    page = await agent.get("/admin/escalations/1?lang=en")
    assert "Customer says: resolved" in page.text and "VIP" in page.text
    finished = await agent.get("/admin/escalations?show=done&lang=en")
    assert "resolved" in finished.text
    await customer.close()


async def test_the_api_lists_claims_replies_and_resolves(app: FastAPI) -> None:
    customer = await detractor(app)
    headers = await bearer(app)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    listed = await http.get("/api/v1/escalations", headers=headers)
    assert listed.status_code == 200, listed.text
    [case] = listed.json()["escalations"]
    assert (case["id"], case["status"], case["channel"], case["score"]) == (
        1,
        "open",
        "web",
        "NPS 2",
    )
    assert (await http.get("/api/v1/escalations?overdue=true", headers=headers)).json() == {
        "escalations": []
    }
    assert (await http.get("/api/v1/escalations?status=resolved", headers=headers)).json() == {
        "escalations": []
    }
    assert (
        await http.get("/api/v1/escalations?priority=high&channel=web", headers=headers)
    ).json()["escalations"]
    assert (await http.get("/api/v1/escalations?status=bogus", headers=headers)).status_code == 422
    claim = await http.post("/api/v1/escalations/1/claim", headers=headers)
    assert claim.status_code == 200 and claim.json()["assigned_to"] == "api:helpdesk-agent"
    assert (await http.post("/api/v1/escalations/1/claim", headers=headers)).status_code == 409
    reply = await http.post("/api/v1/escalations/1/reply", headers=headers, json={"text": "hi"})
    assert reply.status_code == 200 and reply.json()["state"] == "sent"
    assert (
        await http.post("/api/v1/escalations/1/reply", headers=headers, json={})
    ).status_code == 422
    assert (
        await http.post("/api/v1/escalations/1/reply", headers=headers, content=b"{not json")
    ).status_code == 422
    note = await http.post("/api/v1/escalations/1/note", headers=headers, json={"text": "n"})
    assert note.status_code == 201
    status = await http.post(
        "/api/v1/escalations/1/status", headers=headers, json={"status": "waiting"}
    )
    assert status.status_code == 200 and status.json()["status"] == "waiting"
    bad = await http.post(
        "/api/v1/escalations/1/resolve", headers=headers, json={"outcome": "nope"}
    )
    assert bad.status_code == 422
    resolved = await http.post(
        "/api/v1/escalations/1/resolve",
        headers=headers,
        json={"outcome": "explained", "note": "told them", "ask_closing": True},
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = await http.post(
        "/api/v1/escalations/1/resolve", headers=headers, json={"outcome": "explained"}
    )
    assert again.status_code == 409
    detail = await http.get("/api/v1/escalations/1", headers=headers)
    assert detail.status_code == 200
    assert [x["author"] for x in detail.json()["transcript"]][-2:] == ["agent", "bot"]
    assert (await http.get("/api/v1/escalations/2", headers=headers)).status_code == 404
    closing = await http.post("/api/v1/escalations/1/close", headers=headers, json={})
    assert closing.status_code == 409  # resolved already
    assert (await http.post("/api/v1/escalations/0/claim", headers=headers)).status_code == 422
    assert (
        await http.post("/api/v1/escalations/99999999999/claim", headers=headers)
    ).status_code == 422
    viewer = await bearer(app, "viewer")
    assert (await http.get("/api/v1/escalations", headers=viewer)).status_code == 403
    assert (await http.get("/api/v1/escalations")).status_code == 401
    await http.aclose()
    await customer.close()
