"""`GET /api/v1/metrics` in the real app: who may read it, and bad input is a 4xx."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from admin import tokens
from tests.admin import dashboard_data
from tests.admin.conftest import Visitor
from tests.conftest import START

pytestmark = pytest.mark.backends("sqlite", "postgresql")


async def bearer(app: FastAPI, role: str) -> dict[str, str]:
    made = await tokens.create(
        app.state.admin_auth.writer, name=f"bi-{role}", role=role, now=START, created_by=None
    )
    return {"Authorization": f"Bearer {made.secret}"}


async def test_a_viewer_token_or_session_reads_the_metrics(
    app: FastAPI, client: httpx.AsyncClient, signed_in: dict[str, Visitor]
) -> None:
    await dashboard_data.store(app.state.runtime.service.sessions)
    refused = await client.get("/api/v1/metrics")
    assert refused.status_code == 401
    wrong = await client.get("/api/v1/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    answered = await client.get("/api/v1/metrics", headers=await bearer(app, "viewer"))
    assert answered.status_code == 200
    assert answered.json()["nps"]["n"] == 10
    # the pages' own fetches: the signed-in session cookie counts too
    page_fetch = await signed_in["viewer"].get("/api/v1/metrics?channel=web")
    assert page_fetch.status_code == 200 and page_fetch.json()["nps"]["n"] == 5
    assert (await signed_in["anonymous"].get("/api/v1/metrics")).status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01",
        "to=not-a-date",
        "from=2026-03-05&to=2026-03-01",
        "from=99999-01-01",
        "interval=quarter",
        "interval=",
        "language=" + "x" * 200,
    ],
)
async def test_bad_parameters_are_a_4xx_in_the_app(
    app: FastAPI, client: httpx.AsyncClient, query: str
) -> None:
    response = await client.get(f"/api/v1/metrics?{query}", headers=await bearer(app, "viewer"))
    assert 400 <= response.status_code < 500, response.text


async def test_odd_but_valid_text_matches_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    for query in ("flow=%00", "channel=%F0%9F%98%80", "touchpoint=%27%20OR%201%3D1--"):
        response = await client.get(f"/api/v1/metrics?{query}", headers=await bearer(app, "viewer"))
        assert response.status_code == 200, query
        assert response.json()["nps"]["n"] == 0


async def test_the_page_shows_bad_filters_instead_of_failing(
    signed_in: dict[str, Visitor],
) -> None:
    page = await signed_in["viewer"].get(
        "/admin?from=yesterday&to=2026-02-30&interval=year&channel=" + "x" * 100 + "&lang=en"
    )
    assert page.status_code == 200
    assert "not understood and were ignored: from, to, channel, interval" in page.text
    assert "No answers yet" in page.text
