"""The metrics API against a hand count of a fixed set of answers, on SQLite and PostgreSQL.

Every expected number below is counted from tests/admin/dashboard_data.py by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from admin.metrics import api_router
from storage.database import Sessions
from tests.admin import dashboard_data

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def allow_everyone() -> None:
    """The guard the app replaces with `api_role("viewer")`."""


@pytest.fixture
async def client(sessions: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    await dashboard_data.store(sessions)
    app = FastAPI()
    app.include_router(api_router(sessions, viewer=allow_everyone))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def metrics(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get("/api/v1/metrics", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def approx(value: float) -> Any:
    return pytest.approx(value, abs=0.01)


async def test_nps_counts_score_and_both_margins(client: httpx.AsyncClient) -> None:
    nps = (await metrics(client))["nps"]
    # promoters 10 9 9 10 9, passives 8 7, detractors 6 3 0
    assert (nps["n"], nps["promoters"], nps["passives"], nps["detractors"]) == (10, 5, 2, 3)
    assert nps["score"] == 20.0
    # Wald: p = .5, d = .3, var = .5 + .3 - .2² = .76; 1.96·sqrt(.76 / 10) = .5403
    wald = nps["margin"]["wald"]
    assert wald["margin"] == approx(54.03)
    assert (wald["low"], wald["high"]) == (approx(20 - 54.03), approx(20 + 54.03))
    # adjusted: P = 5.75, D = 3.75, n = 13; p - d = 2/13 = .1538;
    # var = 9.5/13 - (2/13)² = .7071; 1.96·sqrt(.7071 / 13) = .4571
    adjusted = nps["margin"]["adjusted_wald"]
    assert adjusted["margin"] == approx(45.71)
    assert (adjusted["low"], adjusted["high"]) == (approx(15.38 - 45.71), approx(15.38 + 45.71))


async def test_ces_per_scale_and_csat(client: httpx.AsyncClient) -> None:
    body = await metrics(client)
    ces5, ces7 = body["ces"]
    # 7-point: 7 6 5 4 2 -> mean 24/5, agreeing (5-7) 3 of 5
    assert (ces7["scale"], ces7["n"], ces7["mean"]) == ([1, 7], 5, 4.8)
    assert (ces7["agree_range"], ces7["agree"], ces7["agree_share"]) == ([5, 7], 3, 60.0)
    # sample sd of 7 6 5 4 2: squares 130, var = (130 - 5·4.8²) / 4 = 3.7; 1.96·sqrt(3.7/5)
    assert ces7["mean_margin"]["margin"] == approx(1.686)
    # 5-point: 5 4 1 -> mean 10/3, agreeing (4-5) 2 of 3
    assert (ces5["scale"], ces5["n"], ces5["mean"]) == ([1, 5], 3, approx(3.33))
    assert (ces5["agree_range"], ces5["agree"], ces5["agree_share"]) == ([4, 5], 2, approx(66.67))
    (csat,) = body["csat"]
    # 5 4 3 2 -> mean 3.5, top-2-box (4-5) 2 of 4
    assert (csat["n"], csat["mean"], csat["agree"], csat["agree_share"]) == (4, 3.5, 2, 50.0)


async def test_interview_counts_and_rates(client: httpx.AsyncClient) -> None:
    conversations = (await metrics(client))["conversations"]
    # 24 started, 22 answered; 19 completed, 2 abandoned (one had answered), 2 handed off
    assert conversations == {
        "started": 24,
        "responded": 22,
        "completed": 19,
        "abandoned": 2,
        "handed_off": 2,
        "active": 1,
        "response_rate": approx(91.67),
        "completion_rate": approx(79.17),
        "abandonment_rate": approx(8.33),
    }


async def test_score_distribution_lists_every_score(client: httpx.AsyncClient) -> None:
    body = await metrics(client)
    distribution = {(d["metric"], tuple(d["scale"])): d for d in body["distribution"]}
    assert set(distribution) == {
        ("nps", (0, 10)),
        ("ces", (1, 7)),
        ("ces", (1, 5)),
        ("csat", (1, 5)),
    }
    nps = distribution[("nps", (0, 10))]
    assert nps["scores"] == list(range(11))
    assert nps["counts"] == [1, 0, 0, 1, 0, 0, 1, 1, 1, 3, 2]
    assert distribution[("csat", (1, 5))]["counts"] == [0, 1, 1, 1, 1]


async def test_weekly_trend_splits_at_monday_in_utc(client: httpx.AsyncClient) -> None:
    buckets = (await metrics(client, interval="week"))["trend"]["buckets"]
    assert [b["start"] for b in buckets] == ["2026-02-23", "2026-03-02"]
    before, after = buckets
    # Sunday (the Shanghai 07:30 Monday answer is Sunday in UTC): 10 9 9 0
    assert (before["nps"]["n"], before["nps"]["score"]) == (4, 50.0)
    # adjusted: P 3.75, D 1.75, n 7: centre 2/7; var = 5.5/7 - (2/7)² = .7041; 1.96·sqrt(.7041/7)
    assert before["nps"]["margin"]["adjusted_wald"]["margin"] == approx(62.16)
    assert [c["scale"] for c in before["ces"]] == [[1, 5]]
    assert before["csat"] == []
    # Monday: 10 8 7 6 3 9 -> 2 promoters, 2 detractors
    assert (after["nps"]["n"], after["nps"]["score"]) == (6, 0.0)
    assert [c["scale"] for c in after["ces"]] == [[1, 7]]
    assert after["csat"][0]["n"] == 4


async def test_daily_trend(client: httpx.AsyncClient) -> None:
    buckets = (await metrics(client, interval="day"))["trend"]["buckets"]
    assert [(b["start"], b["nps"]["n"]) for b in buckets] == [("2026-03-01", 4), ("2026-03-02", 6)]


async def test_slices_by_channel_and_touchpoint(client: httpx.AsyncClient) -> None:
    slices = (await metrics(client))["slices"]
    by_channel = {s["value"]: s["nps"] for s in slices["channel"]}
    # web 10 9 8 6 0; telegram 9 10 3; wechat 7 9
    assert {k: (v["n"], v["score"]) for k, v in by_channel.items()} == {
        "web": (5, 0.0),
        "telegram": (3, approx(33.33)),
        "wechat": (2, 50.0),
    }
    by_touchpoint = {s["value"]: s for s in slices["touchpoint"]}
    assert by_touchpoint["relationship"]["nps"]["n"] == 10
    assert [c["n"] for c in by_touchpoint["after_support"]["ces"]] == [3, 5]
    assert by_touchpoint["after_delivery"]["csat"][0]["mean"] == 3.5
    assert {s["value"] for s in slices["flow"]} == {"nps", "ces", "ces5", "csat"}
    by_language = {s["value"]: s["nps"]["n"] for s in slices["language"]}
    assert by_language == {"zh": 7, "en": 3}


async def test_filters_narrow_every_figure(client: httpx.AsyncClient) -> None:
    monday = await metrics(client, **{"from": "2026-03-02", "to": "2026-03-02"})
    assert (monday["nps"]["n"], monday["nps"]["score"]) == (6, 0.0)
    assert [c["n"] for c in monday["ces"]] == [5]
    assert monday["conversations"]["started"] == 16  # 6 nps + 5 ces + 4 csat + 1 unanswered

    web = await metrics(client, channel="web")
    assert (web["nps"]["n"], web["nps"]["score"]) == (5, 0.0)
    assert web["conversations"]["started"] == 12  # 5 nps + 5 ces + 2 unanswered

    usage = await metrics(client, journey_stage="usage")
    assert usage["nps"]["n"] == 0 and usage["nps"]["score"] is None
    assert usage["nps"]["margin"] == {"adjusted_wald": None, "wald": None}
    assert [c["n"] for c in usage["ces"]] == [3, 5]
    assert usage["conversations"]["started"] == 8

    english_touchpoint = await metrics(client, touchpoint="relationship", language="en")
    assert english_touchpoint["nps"]["n"] == 3  # 9 7 3
    assert (await metrics(client, flow="csat"))["csat"][0]["n"] == 4
    nothing = await metrics(client, flow="nope")
    assert nothing["trend"]["buckets"] == [] and nothing["distribution"] == []
    assert nothing["conversations"]["response_rate"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2026-02-30"},
        {"from": "2026-03-05", "to": "2026-03-01"},
        {"from": "0001-01-01"},
        {"interval": "month"},
        {"flow": ""},
        {"channel": "x" * 65},
    ],
)
async def test_bad_parameters_are_refused(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/api/v1/metrics", params=params)
    assert response.status_code == 422, response.text
