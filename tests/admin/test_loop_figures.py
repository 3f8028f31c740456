"""The closed loop's figures match a hand count, on SQLite and PostgreSQL, with filters;
the dashboard shows them and `/api/v1/metrics` carries them as `loop`."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from admin.metrics import MetricsQuery, load_metrics
from storage.database import Sessions
from storage.models import Conversation, Customer, Escalation
from storage.writes import Writer
from tests.admin.conftest import Visitor
from tests.conftest import START

T = START  # 2026-03-02 09:00 UTC
NOW = T + timedelta(hours=10)
M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)

When = datetime | None
# (channel, opened, due, first reply, resolved, status, outcome, closing answer)
CASES: list[tuple[str, datetime, datetime, When, When, str, str | None, str | None]] = [
    ("web", T, T + H, T + 10 * M, T + 30 * M, "resolved", "refund", "yes"),
    ("web", T, T + H, T + 50 * M, T + 2 * H, "resolved", "refund", "no"),
    ("web", T, T + 15 * M, T + 20 * M, T + 25 * M, "resolved", "explained", None),
    ("telegram", T + H, T + 5 * H, T + H + 5 * M, None, "waiting", None, None),
    ("telegram", T + H, T + 2 * H, None, None, "open", None, None),  # overdue now
    ("telegram", T + H, T + 20 * H, None, None, "open", None, None),  # not due yet
    ("web", T, T + H, None, None, "closed", None, None),  # closed without contact
    ("web", T - 2 * D, T - 2 * D + H, T - 2 * D + 5 * M, T - 2 * D + 40 * M, "resolved",
     "refund", "yes"),
]


async def store_cases(writer: Writer) -> None:
    """Each case on its own handed-off interview (a conversation has one open case at most)."""
    async with writer.transaction() as session:
        people: dict[str, Customer] = {}
        for channel in ("web", "telegram"):
            people[channel] = Customer(channel=channel, external_id=f"{channel}-1")
            session.add(people[channel])
        await session.flush()
        for channel, opened, due, reply, resolved, status, outcome, closing in CASES:
            person = people[channel]
            talk = Conversation(
                customer_id=person.id or 0, channel=channel, flow_id="nps", flow_version="1",
                touchpoint="support", journey_stage="usage", language="zh",
                status="handed_off",
            )
            session.add(talk)
            await session.flush()
            session.add(
                Escalation(
                    conversation_id=talk.id or 0, customer_id=talk.customer_id,
                    reason="detractor", priority="high", status=status, due_at=due,
                    created_at=opened, first_reply_at=reply, resolved_at=resolved,
                    outcome=outcome, closing_answer=closing,
                )
            )


@pytest.mark.backends("sqlite", "postgresql")
async def test_the_loop_figures_match_a_hand_count(sessions: Sessions) -> None:
    await store_cases(Writer(sessions))
    loop = (await load_metrics(sessions, MetricsQuery(), now=NOW))["loop"]
    assert loop == {
        "opened": 8,
        "statuses": {"open": 2, "assigned": 0, "waiting": 1, "resolved": 4, "closed": 1},
        "overdue": 1,
        # replies after 600, 3000, 1200, 300 and 300 seconds: the middle one is 600
        "first_reply": {"n": 5, "median_seconds": 600.0},
        # in time: cases 1, 2, 4, 8; known: the 5 answered and the 2 unanswered past due
        "replied_within_sla": {"n": 4, "of": 7, "share": 57.1429},
        # in time: cases 1 and 8; known: 5 finished, 2 past due (case 6 is not yet)
        "resolved_within_sla": {"n": 2, "of": 7, "share": 28.5714},
        "outcomes": {"refund": 3, "explained": 1},
        "closing_answers": {"yes": 2, "no": 1, "none": 1},
    }
    web = MetricsQuery(start=date(2026, 3, 2), channel="web")
    loop = (await load_metrics(sessions, web, now=NOW))["loop"]
    assert loop["opened"] == 4 and loop["overdue"] == 0
    assert loop["first_reply"] == {"n": 3, "median_seconds": 1200.0}  # 600, 1200, 3000
    assert loop["replied_within_sla"] == {"n": 2, "of": 4, "share": 50.0}
    assert loop["resolved_within_sla"] == {"n": 1, "of": 4, "share": 25.0}
    assert loop["closing_answers"] == {"yes": 1, "no": 1, "none": 1}
    early = MetricsQuery(end=date(2026, 2, 28))
    loop = (await load_metrics(sessions, early, now=NOW))["loop"]
    assert (loop["opened"], loop["first_reply"]["median_seconds"]) == (1, 300.0)
    nothing = (await load_metrics(sessions, MetricsQuery(flow="ces"), now=NOW))["loop"]
    assert nothing["opened"] == 0 and nothing["first_reply"]["median_seconds"] is None
    assert nothing["resolved_within_sla"]["share"] is None


async def test_the_api_and_the_dashboard_show_the_loop(
    app: FastAPI, signed_in: dict[str, Visitor]
) -> None:
    await store_cases(app.state.admin_auth.writer)
    viewer = signed_in["viewer"]
    answer = await viewer.get("/api/v1/metrics")
    assert answer.status_code == 200 and answer.json()["loop"]["opened"] == 8
    page = await viewer.get("/admin?lang=en")
    assert "Closed loop" in page.text and 'id="loop"' in page.text
    # the page's clock is today's: every deadline has passed
    assert "50.0%</strong> <span class=\"muted\">4 of 8" in page.text
    assert "25.0%</strong> <span class=\"muted\">2 of 8" in page.text
    assert "refund" in page.text and "10 min" in page.text  # the median first reply
    zh = await viewer.get("/admin?lang=zh")
    assert "闭环跟进" in zh.text


async def test_the_api_shows_the_loop_to_a_bearer_token(app: FastAPI) -> None:
    from admin import tokens

    made = await tokens.create(
        app.state.admin_auth.writer, name="bi", role="viewer", now=START, created_by="x"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get(
            "/api/v1/metrics", headers={"Authorization": f"Bearer {made.secret}"}
        )
    assert answer.json()["loop"]["opened"] == 0
