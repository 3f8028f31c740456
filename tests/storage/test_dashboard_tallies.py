"""The tally tables the dashboard reads stay equal to a count of the rows they summarize,
whoever writes (the conversation service, plain inserts, updates, deletes, the migration's
backfill), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlmodel import col, delete, select, update

from admin.metrics import MetricsQuery, load_metrics
from cxbot.closing import expire_idle
from cxbot.conversations import ConversationService
from storage.database import Sessions, sync_url, transaction
from storage.migrations import upgrade
from storage.models import Answer, AnswerTally, Conversation, ConversationTally
from tests.conftest import Clock, Customer, sqlite_url

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


async def assert_tallies_match(sessions: Sessions) -> None:
    """Count answers and conversations in Python and compare with the tally tables."""
    async with transaction(sessions) as session:
        answers = (await session.exec(select(Answer))).all()
        conversations = (await session.exec(select(Conversation))).all()
        answer_tally = (await session.exec(select(AnswerTally))).all()
        conversation_tally = (await session.exec(select(ConversationTally))).all()
    expected_answers = Counter(
        (_day(a.created_at), a.metric, a.scale_low, a.scale_high, a.score, a.flow_id,
         a.touchpoint, a.journey_stage, a.channel, a.language)
        for a in answers
        if a.metric in ("nps", "ces", "csat") and a.score is not None
    )
    found_answers = Counter({
        (t.day, t.metric, t.scale_low, t.scale_high, t.score, t.flow_id, t.touchpoint,
         t.journey_stage, t.channel, t.language): t.answers
        for t in answer_tally
        if t.answers
    })
    assert found_answers == expected_answers
    expected_conversations = Counter(
        (_day(c.started_at), c.flow_id, c.touchpoint, c.journey_stage, c.channel, c.language,
         c.status, c.answered_at is not None)
        for c in conversations
    )
    found_conversations = Counter({
        (t.day, t.flow_id, t.touchpoint, t.journey_stage, t.channel, t.language, t.status,
         bool(t.responded)): t.conversations
        for t in conversation_tally
        if t.conversations
    })
    assert found_conversations == expected_conversations


async def test_real_interviews_are_tallied_and_match_a_hand_count(
    service: ConversationService, clock: Clock, sessions: Sessions
) -> None:
    scores = {"web": ["10", "9", "3"], "telegram": ["8", "6"]}
    for channel, given in scores.items():
        for number, score in enumerate(given):
            customer = Customer(service, f"{channel}-{number}", channel=channel)
            await customer.starts("nps", language="en")
            clock.advance(seconds=5)
            await customer.says(score)
            clock.advance(seconds=5)
            await customer.says("the delivery was late")  # concrete: no follow-up
    quiet = Customer(service, "quiet", channel="web")
    await quiet.starts("nps", language="zh")  # never answers
    await assert_tallies_match(sessions)
    async with transaction(sessions) as session:
        stored = (await session.exec(select(Answer).where(col(Answer.metric) == "nps"))).all()
        conversations = (await session.exec(select(Conversation))).all()
    assert sorted(a.score or 0 for a in stored) == [3, 6, 8, 9, 10]
    assert {a.journey_stage for a in stored} == {"loyalty"}
    assert sum(c.answered_at is not None for c in conversations) == 5

    body = await load_metrics(sessions, MetricsQuery())
    # promoters 10 9, passive 8, detractors 3 6 -> (2 - 2) / 5
    nps = body["nps"]
    assert (nps["n"], nps["promoters"], nps["passives"], nps["detractors"]) == (5, 2, 1, 2)
    assert nps["score"] == 0.0
    counts = body["conversations"]
    assert (counts["started"], counts["responded"]) == (6, 5)
    assert (counts["completed"], counts["handed_off"], counts["active"]) == (3, 2, 1)
    telegram = await load_metrics(sessions, MetricsQuery(channel="telegram"))
    assert telegram["nps"]["score"] == -50.0  # 8 passive, 6 detractor

    clock.advance(hours=2)  # past the flow's 30 minute timeout
    assert await expire_idle(service) == 1
    await assert_tallies_match(sessions)
    after = (await load_metrics(sessions, MetricsQuery()))["conversations"]
    assert (after["active"], after["abandoned"]) == (0, 1)


async def test_updates_and_deletes_move_the_counts(
    service: ConversationService, clock: Clock, sessions: Sessions
) -> None:
    for number, score in enumerate(["9", "2"]):
        customer = Customer(service, f"c{number}", channel="web")
        await customer.starts("nps", language="en")
        await customer.says(score)
    async with transaction(sessions) as session:
        await session.exec(
            update(Answer).where(col(Answer.score) == 2).values(score=10)  # type: ignore[call-overload]
        )
        await session.exec(
            update(Conversation).values(language="zh", started_at=clock() - timedelta(days=3))  # type: ignore[call-overload]
        )
    await assert_tallies_match(sessions)
    nps = (await load_metrics(sessions, MetricsQuery()))["nps"]
    assert (nps["n"], nps["promoters"]) == (2, 2)
    async with transaction(sessions) as session:
        await session.exec(delete(Answer).where(col(Answer.score) == 9))  # type: ignore[call-overload]
    await assert_tallies_match(sessions)
    assert (await load_metrics(sessions, MetricsQuery()))["nps"]["n"] == 1


def test_the_migration_counts_the_rows_already_there(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = sqlite_url(tmp_path / "old.db")
        _upgrade_with_old_rows(url)
    else:
        server = request.getfixturevalue("postgres")
        with server.database(migrated=False) as url:
            _upgrade_with_old_rows(url)


def _upgrade_with_old_rows(url: str) -> None:
    upgrade(url, "0007")
    engine = create_sync_engine(sync_url(url))
    utc = "" if engine.dialect.name == "sqlite" else "+00:00"  # SQLite stores UTC, no offset
    rows = [  # conversation id, flow, stage, score, answered
        (1, "nps", "loyalty", 9), (1, "nps", "loyalty", None), (2, "nps", "loyalty", 3),
        (3, "ces", "usage", 6),
    ]
    with engine.begin() as db:
        db.execute(text(
            "INSERT INTO customer (id, channel, external_id, created_at) "
            f"VALUES (1, 'web', 'x', '2026-03-01 10:00:00{utc}')"
        ))
        for number, flow, stage in [(1, "nps", "loyalty"), (2, "nps", "loyalty"),
                                    (3, "ces", "usage"), (4, "nps", "loyalty")]:
            db.execute(text(
                "INSERT INTO conversation (id, customer_id, channel, flow_id, flow_version, "
                "touchpoint, journey_stage, language, status, state, started_at, updated_at) "
                "VALUES (:id, 1, 'web', :flow, 'v1', 't', :stage, 'zh', 'completed', '{}', "
                f"'2026-03-01 23:30:00{utc}', '2026-03-01 23:30:00{utc}')"
            ), {"id": number, "flow": flow, "stage": stage})
        for conversation, flow, _stage, score in rows:
            metric = None if score is None else ("nps" if flow == "nps" else "ces")
            db.execute(text(
                "INSERT INTO answer (conversation_id, flow_id, step_id, variable, metric, score, "
                "scale_low, scale_high, channel, language, touchpoint, created_at) VALUES "
                "(:c, :flow, 's', 'v', :metric, :score, 1, :high, 'web', 'zh', 't', "
                f"'2026-03-02 00:10:00{utc}')"
            ), {"c": conversation, "flow": flow, "metric": metric, "score": score,
                "high": 10 if flow == "nps" else 7})
    upgrade(url)
    with engine.begin() as db:
        answers = db.execute(text(
            "SELECT day, metric, score, journey_stage, answers FROM answer_tally ORDER BY score"
        )).all()
        conversations = db.execute(text(
            "SELECT day, responded, sum(conversations) FROM conversation_tally "
            "GROUP BY day, responded ORDER BY responded"
        )).all()
        stages = db.execute(text("SELECT DISTINCT journey_stage FROM answer")).scalars().all()
    engine.dispose()
    assert [tuple(r) for r in answers] == [
        ("2026-03-02", "nps", 3, "loyalty", 1),
        ("2026-03-02", "ces", 6, "usage", 1),
        ("2026-03-02", "nps", 9, "loyalty", 1),
    ]
    assert [(r[0], bool(r[1]), r[2]) for r in conversations] == [
        ("2026-03-01", False, 1),
        ("2026-03-01", True, 3),
    ]
    assert sorted(stages) == ["loyalty", "usage"]


async def test_a_tally_row_is_not_held_while_a_transaction_is_open(
    backend: str, service: ConversationService, clock: Clock, sessions: Sessions
) -> None:
    """Every interview of a day, flow and channel moves the same tally rows: on PostgreSQL
    they are updated at commit (deferred triggers), so an open transaction that changed an
    interview does not make another one wait for it (that wait once ran into the statement
    timeout with two servers under load)."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: no row locks to hold")
    first, second = Customer(service, "first"), Customer(service, "second")
    await first.starts("nps", language="en")
    await second.starts("nps", language="en")  # both tally under the same key
    async with transaction(sessions) as holder:
        await holder.exec(
            update(Conversation)  # type: ignore[call-overload]
            .where(col(Conversation.id) == 1)
            .values(status="abandoned")
        )
        async with transaction(sessions) as other:  # while `holder` is still open
            await other.exec(text("SET LOCAL lock_timeout = '200ms'"))
            await other.exec(
                update(Conversation)  # type: ignore[call-overload]
                .where(col(Conversation.id) == 2)
                .values(status="abandoned")
            )
    await assert_tallies_match(sessions)
