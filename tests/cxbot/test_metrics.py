"""/metrics: off by default, behind its token, counters that move with real traffic, outages,
and nothing of the customers' in it."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.channel import Incoming, Reply, Report, Unavailable
from cxbot.metric_labels import CHANNELS, error_code, outage_reason, outcome_of
from cxbot.metrics import MULTIPROC_ENV, Metrics, shared_by_workers
from cxbot.settings import Settings
from tests.cxbot.metrics_scrape import label_values, scrape, value
from tests.cxbot.test_app import serving
from tests.cxbot.test_outage import assert_outage, write_lock_held

TOKEN = "scrape-token-Zq81-for-tests"
VISITOR = "visit-4242-SECRETVISITOR"
ANSWER = "the parcel came late SECRETTEXT"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def on(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"metrics": True, **changes})


async def test_metrics_are_off_by_default(client: httpx.AsyncClient) -> None:
    assert Settings(_env_file=None).metrics is False  # type: ignore[call-arg]
    assert (await client.get("/metrics")).status_code == 404


async def test_with_a_token_a_scrape_without_it_is_refused(app_settings: Settings) -> None:
    async with serving(on(app_settings, metrics_token=SecretStr(TOKEN))) as (_app, client):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN + "x"}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401 and "cxbot_" not in refused.text
            assert refused.headers["www-authenticate"] == "Bearer"
        text, _ = await scrape(client, TOKEN)
        assert "cxbot_inbound_messages_total" in text


async def test_a_web_chat_interview_moves_the_counters_and_leaves_no_trace_of_the_customer(
    app_settings: Settings,
) -> None:
    async with serving(on(app_settings)) as (_app, client):
        assert (await client.get("/chat/nps")).status_code == 200  # the visitor's cookie
        _, before = await scrape(client)
        for body in (
            {"client_id": f"{VISITOR}-1", "start": True},
            {"client_id": f"{VISITOR}-2", "text": "3"},
            {"client_id": f"{VISITOR}-3", "text": ANSWER},
            {"client_id": f"{VISITOR}-2", "text": "3"},  # the page sent it again: a duplicate
        ):
            answer = await client.post("/chat/nps/messages", json=body)
            assert answer.status_code == 200, answer.text
        text, after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("cxbot_inbound_messages_total", channel="web", outcome="ok") == 3
    assert moved("cxbot_inbound_messages_total", channel="web", outcome="duplicate") == 1
    assert moved("cxbot_handling_seconds_count", channel="web", outcome="ok") == 3
    assert moved("cxbot_handling_seconds_sum", channel="web", outcome="ok") > 0
    assert value(after, "cxbot_outbox_query_ok") == 1
    # no customer value anywhere: ids, texts, the visitor's cookie
    for private in (VISITOR, "SECRETVISITOR", "SECRETTEXT", "parcel", "4242"):
        assert private not in text
    assert label_values(after, "channel") <= CHANNELS | {"other"}


async def test_an_outage_is_counted_with_its_reason_class(
    app_settings: Settings, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cxbot.app")
    async with serving(on(app_settings)) as (_app, client):
        assert (await client.get("/chat/nps")).status_code == 200
        with write_lock_held(db_path):
            assert_outage(
                await client.post("/chat/nps/messages", json={"client_id": VISITOR, "start": True})
            )
            # a read takes no write lock (a deferred snapshot): the history is served
            assert (await client.get("/chat/nps/messages")).status_code == 200
            text, during = await scrape(client)  # the queue cannot be read: said, not hung
        assert value(during, "cxbot_outbox_query_ok") == 0
        assert "cxbot_outbox_waiting_messages" not in text
        _, after = await scrape(client)
    assert value(after, "cxbot_inbound_messages_total", channel="web", outcome="unavailable") == 1
    assert value(after, "cxbot_database_outages_total", reason="locked") == 1
    assert label_values(after, "reason") == {"locked"}
    assert value(after, "cxbot_outbox_query_ok") == 1


def test_outcomes() -> None:
    assert outcome_of(Reply(()), None) == "ok"
    assert outcome_of(Reply((), duplicate=True), None) == "duplicate"
    assert outcome_of(Reply((), stale=True), None) == "stale"
    assert outcome_of(Reply((), refused="busy"), None) == "refused"
    assert outcome_of(Reply((), events=(("service-error", {}),)), None) == "error"
    assert outcome_of(None, Unavailable("database is locked")) == "unavailable"
    assert outcome_of(None, RuntimeError("boom")) == "error"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("RetryAfter: Flood control exceeded. Retry in 0:00:01", "RetryAfter"),
        ("Forbidden: Forbidden: bot was blocked by the user", "Forbidden"),
        ("BadRequest: Chat not found", "BadRequest"),
        ("NetworkError: Bad Gateway", "NetworkError"),
        ("errcode 45015: WeChat refused: more than 48 hours", "errcode 45015"),
        ("errcode 99999: invalid openid o_abc123", "errcode other"),
        ("HTTP error: HTTP error", "HTTP error"),
        ("TokenUnavailable: no token source", "TokenUnavailable"),
        ("refused: outside the 48-hour window (last customer message 50 hours ago)", "window"),
        ("refused: quota used: 5 of 5 messages sent since the customer's last message", "quota"),
        ("internal error: KeyError", "internal"),
        ("the wechat channel is not mounted", "not-mounted"),
        ("not a Telegram chat id", "address"),
        ("Alice Smith: +86 138 0000 0000", "other"),  # free text never becomes a label
        ("o_abc123: whatever", "other"),
        (None, "other"),
    ],
)
def test_send_errors_map_to_a_bounded_set_of_codes(error: str | None, code: str) -> None:
    assert error_code(error) == code


@pytest.mark.parametrize(
    ("reason", "cls"),
    [
        ("database is locked", "locked"),
        ("waited 2 s for the database write turn", "queue"),
        ("no database connection free in time", "pool"),
        ("canceling statement due to statement timeout", "timeout"),
        ('connection failed: connection to server at "127.0.0.1", port 5 failed', "connection"),
        ("connection lost (OperationalError)", "connection"),
        ("something new", "other"),
    ],
)
def test_outage_reasons_map_to_classes(reason: str, cls: str) -> None:
    assert outage_reason(reason) == cls


def test_a_delivery_report_counts_messages_and_one_error() -> None:
    metrics = Metrics(multiprocess=False)
    metrics.delivered("telegram", Report(sent=(1,), deferred=(2, 3), error="RetryAfter: x"))
    metrics.delivered("o_private", Report(failed=(4,), error="Forbidden: y"))
    metrics.handled(Incoming("web", "someone"), Reply(()), None, 0.01)
    assert metrics.registry is not None
    get = metrics.registry.get_sample_value
    assert get("cxbot_sent_messages_total", {"channel": "telegram", "result": "sent"}) == 1
    assert get("cxbot_sent_messages_total", {"channel": "telegram", "result": "deferred"}) == 2
    assert get("cxbot_send_errors_total", {"channel": "telegram", "error": "RetryAfter"}) == 1
    assert get("cxbot_send_errors_total", {"channel": "other", "error": "Forbidden"}) == 1


WORKER = """
import sys
from bot.channel import Incoming, Reply, Report
from cxbot.metrics import Metrics
metrics = Metrics()
assert metrics.multiprocess
for _ in range(int(sys.argv[1])):
    metrics.handled(Incoming("telegram", "someone"), Reply(()), None, 0.02)
metrics.delivered("telegram", Report(failed=(1,), error="Forbidden: blocked"))
"""


async def test_several_workers_counters_are_added_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `cxbot serve --workers N` sets up: each worker writes its counters to the folder,
    and a scrape in any worker adds them up."""
    folder = tmp_path / "multiproc"
    folder.mkdir()
    env = {**os.environ, MULTIPROC_ENV: str(folder)}
    for count in (2, 3):  # two worker processes
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, str(count), env=env
        )
        assert await worker.wait() == 0
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    scraping = Metrics()
    assert scraping.multiprocess

    async def nothing_waits() -> list[tuple[str, int, datetime | None]]:
        return []

    text = (
        await scraping.exposition(nothing_waits, channels=["telegram"], now=NOW, seconds=1)
    ).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    inbound = families["cxbot_inbound_messages"].samples
    assert [(s.labels, s.value) for s in inbound if s.name.endswith("_total")] == [
        ({"channel": "telegram", "outcome": "ok"}, 5.0)
    ]
    errors = families["cxbot_send_errors"].samples
    assert [s.value for s in errors if s.name.endswith("_total")] == [2.0]
    assert "cxbot_outbox_waiting_messages" in text


def test_serve_gives_several_workers_a_fresh_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with shared_by_workers(1):
        assert MULTIPROC_ENV not in os.environ  # one process: nothing to add up
    with shared_by_workers(2):
        folder = Path(os.environ[MULTIPROC_ENV])
        assert folder.is_dir() and not any(folder.iterdir())
    assert MULTIPROC_ENV not in os.environ and not folder.exists()
    monkeypatch.setenv(MULTIPROC_ENV, "/srv/operators-own")
    with shared_by_workers(2):
        assert os.environ[MULTIPROC_ENV] == "/srv/operators-own"
