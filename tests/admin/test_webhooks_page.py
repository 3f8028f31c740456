"""The webhooks page and API: admins only, CSRF on the forms, the secret shown once, bad
input a 4xx; the agents' nav badge counts open and overdue cases."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from admin import tokens
from storage.loop_tables import WebhookEndpoint
from storage.models import Conversation, Customer, Escalation
from tests.admin.conftest import Visitor
from tests.conftest import START

SECRET = re.compile(r'<code class="secret" id="new-secret">(whsec_[\w-]+)</code>')


async def endpoints(app: FastAPI) -> list[WebhookEndpoint]:
    async with app.state.admin_auth.sessions() as session:
        return list((await session.exec(select(WebhookEndpoint))).all())


async def test_only_admins_open_the_page_and_the_form_needs_its_csrf_token(
    signed_in: dict[str, Visitor], app: FastAPI
) -> None:
    assert (await signed_in["anonymous"].get("/admin/webhooks")).status_code == 303
    assert (await signed_in["viewer"].get("/admin/webhooks")).status_code == 403
    assert (await signed_in["agent"].get("/admin/webhooks")).status_code == 403
    admin = signed_in["admin"]
    page = await admin.get("/admin/webhooks?lang=en")
    assert page.status_code == 200 and "Webhooks and notices" in page.text
    assert "No webhooks yet." in page.text and "Telegram agent group" in page.text
    form = {"url": "https://crm.example.com/hooks", "events": "escalation.opened"}
    refused = await admin.post("/admin/webhooks", {**form, "csrf_token": "forged"})
    assert refused.status_code == 403 and await endpoints(app) == []
    agent = signed_in["agent"]
    assert (await agent.post("/admin/webhooks", form)).status_code == 403


async def test_an_admin_adds_a_webhook_sees_its_secret_once_and_removes_it(
    signed_in: dict[str, Visitor], app: FastAPI
) -> None:
    admin = signed_in["admin"]
    await admin.get("/admin/webhooks?lang=zh")
    added = await admin.http.post(
        "/admin/webhooks",
        data={
            "csrf_token": admin.csrf,
            "url": "https://crm.example.com/hooks?a=<b>",
            "events": ["escalation.opened", "detractor.recorded"],
        },
    )
    assert added.status_code == 200, added.text
    found = SECRET.search(added.text)
    assert found is not None
    (endpoint,) = await endpoints(app)
    assert endpoint.secret == found[1] and endpoint.created_by == "ann"
    assert endpoint.events == ["escalation.opened", "detractor.recorded"]
    assert "https://crm.example.com/hooks?a=&lt;b&gt;" in added.text  # escaped
    again = await admin.get("/admin/webhooks")
    assert found[1] not in again.text and "新工单" in again.text  # shown once
    removed = await admin.post(f"/admin/webhooks/{endpoint.id}/remove")
    assert removed.status_code == 303
    page = await admin.get("/admin/webhooks")
    assert "已移除 https://crm.example.com/hooks?a=&lt;b&gt;。" in page.text
    assert "还没有 webhook。" in page.text
    missing = await admin.post(f"/admin/webhooks/{endpoint.id}/remove")
    assert missing.status_code == 404
    assert (await admin.post(f"/admin/webhooks/{2**63}/remove")).status_code == 422


@pytest.mark.parametrize(
    ("url", "events", "error"),
    [
        ("ftp://crm.example.com/x", ["escalation.opened"], "http:// or https://"),
        ("https://", ["escalation.opened"], "http:// or https://"),
        ("https://user:pw@crm.example.com/", ["escalation.opened"], "http:// or https://"),
        ("https://crm.example.com:99999/", ["escalation.opened"], "http:// or https://"),
        ("https://crm.example.com/" + "x" * 600, ["escalation.opened"], "http:// or https://"),
        ("https://crm.example.com/", [], "at least one event"),
        ("https://crm.example.com/", ["order.shipped"], "at least one event"),
    ],
)
async def test_a_bad_url_or_event_is_refused_with_a_message(
    signed_in: dict[str, Visitor], app: FastAPI, url: str, events: list[str], error: str
) -> None:
    admin = signed_in["admin"]
    await admin.get("/admin/webhooks?lang=en")
    answer = await admin.http.post(
        "/admin/webhooks", data={"csrf_token": admin.csrf, "url": url, "events": events}
    )
    assert answer.status_code in (400, 422)
    if answer.status_code == 400:
        assert error in answer.text
    assert await endpoints(app) == []


async def call(
    app: FastAPI, method: str, path: str, token: str, **kwargs: object
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(
            method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs  # type: ignore[arg-type]
        )


async def test_the_api_registers_lists_and_removes_webhooks_for_admin_tokens(
    app: FastAPI,
) -> None:
    writer = app.state.admin_auth.writer
    admin = (await tokens.create(writer, name="ci", role="admin", now=START, created_by="x")).secret
    agent = (await tokens.create(writer, name="ag", role="agent", now=START, created_by="x")).secret
    body = {"url": "https://crm.example.com/hooks", "events": ["interview.completed"]}
    assert (await call(app, "POST", "/api/v1/webhooks", agent, json=body)).status_code == 403
    assert (await call(app, "GET", "/api/v1/webhooks", agent)).status_code == 403
    made = await call(app, "POST", "/api/v1/webhooks", admin, json=body)
    assert made.status_code == 201
    assert made.json()["secret"].startswith("whsec_") and made.json()["created_by"] == "ci"
    listed = (await call(app, "GET", "/api/v1/webhooks", admin)).json()["webhooks"]
    assert [(w["url"], w["events"]) for w in listed] == [(body["url"], body["events"])]
    assert "secret" not in listed[0]
    for bad in (
        {"url": "javascript:alert(1)", "events": ["interview.completed"]},
        {"url": "https://x.example", "events": ["nope"]},
        {"url": "https://x.example", "events": []},
        {"url": 5, "events": "interview.completed"},
    ):
        assert (await call(app, "POST", "/api/v1/webhooks", admin, json=bad)).status_code == 422
    broken = await call(app, "POST", "/api/v1/webhooks", admin, content=b"{not json")
    assert broken.status_code == 422
    hook_id = made.json()["id"]
    assert (await call(app, "DELETE", f"/api/v1/webhooks/{hook_id}", admin)).status_code == 204
    assert (await call(app, "DELETE", f"/api/v1/webhooks/{hook_id}", admin)).status_code == 404
    assert (await call(app, "DELETE", "/api/v1/webhooks/abc", admin)).status_code == 422
    huge = await call(app, "DELETE", f"/api/v1/webhooks/{2**63}", admin)
    assert huge.status_code == 422
    assert (await call(app, "GET", "/api/v1/webhooks", admin)).json() == {"webhooks": []}
    gone = (await call(app, "GET", "/api/v1/webhooks?removed=true", admin)).json()["webhooks"]
    assert [w["id"] for w in gone] == [hook_id] and gone[0]["removed_at"] is not None
    assert (await call(app, "GET", "/api/v1/webhooks?removed=maybe", admin)).status_code == 422


async def test_the_badge_counts_open_and_overdue_cases_for_agents(
    signed_in: dict[str, Visitor], app: FastAPI
) -> None:
    now = app.state.admin_auth.clock()
    async with app.state.admin_auth.writer.transaction() as session:
        person = Customer(channel="web", external_id="v1")
        session.add(person)
        await session.flush()
        for due, status, replied in (
            (-60, "open", None),  # overdue
            (-60, "assigned", now),  # answered: not overdue
            (60, "open", None),  # not due yet
            (-60, "resolved", None),  # done
        ):
            talk = Conversation(  # one open case per conversation at most
                customer_id=person.id or 0, channel="web", flow_id="nps", flow_version="1",
                touchpoint="t", journey_stage="s", language="en", status="handed_off",
            )
            session.add(talk)
            await session.flush()
            session.add(
                Escalation(
                    conversation_id=talk.id or 0, customer_id=person.id or 0, reason="detractor",
                    priority="high", status=status, due_at=now + timedelta(minutes=due),
                    created_at=now - timedelta(hours=2), first_reply_at=replied,
                )
            )
    assert (await signed_in["viewer"].get("/admin/loop/badge")).status_code == 403
    badge = await signed_in["agent"].get("/admin/loop/badge")
    assert badge.json() == {"open": 3, "overdue": 1}
    page = await signed_in["agent"].get("/admin")
    assert 'data-loop-badge="/admin/loop/badge"' in page.text
    viewer_page = await signed_in["viewer"].get("/admin")
    assert "data-loop-badge" not in viewer_page.text
