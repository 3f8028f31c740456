"""Storage on SQLite and PostgreSQL: constraints, aggregates in SQL, aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from cxbot.conversations import ConversationService
from storage import outbox, queries
from storage.database import Sessions, transaction
from storage.models import Answer, Conversation, Customer, Message
from tests.conftest import Clock
from tests.conftest import Customer as Chat

pytestmark = pytest.mark.backends("sqlite", "postgresql")

SHANGHAI = timezone(timedelta(hours=8))


async def _customer_and_conversation(sessions: Sessions) -> tuple[int, int]:
    async with transaction(sessions) as session:
        customer = await queries.get_or_create_customer(
            session=session, channel="test", external_id="c1"
        )
        assert customer.id is not None
        conversation = Conversation(
            customer_id=customer.id,
            channel="test",
            flow_id="nps",
            flow_version="v1",
            touchpoint="relationship",
            journey_stage="loyalty",
            language="zh",
            status="active",
        )
        session.add(conversation)
        await session.flush()
        assert conversation.id is not None
        return customer.id, conversation.id


async def test_same_platform_id_twice_in_one_direction_is_refused(sessions: Sessions) -> None:
    customer_id, conversation_id = await _customer_and_conversation(sessions)

    def add(direction: str, channel: str = "test") -> None:
        queries.add_message(
            session=session,
            customer_id=customer_id,
            conversation_id=conversation_id,
            channel=channel,
            direction=direction,
            author="customer",
            text="hi",
            platform_message_id="m-1",
        )

    async with transaction(sessions) as session:
        add("in")
        add("out")  # same id the other way round is a different message
        add("in", channel="other")  # and so is the same id on another channel
    with pytest.raises(IntegrityError, match=r"(?i)unique constraint"):
        async with transaction(sessions) as session:
            add("in")
    async with sessions() as session:
        assert await queries.count_rows(session=session, model=Message) == 3


async def test_messages_without_platform_id_are_not_deduplicated(sessions: Sessions) -> None:
    customer_id, conversation_id = await _customer_and_conversation(sessions)
    async with transaction(sessions) as session:
        for _ in range(3):
            queries.add_message(
                session=session,
                customer_id=customer_id,
                conversation_id=conversation_id,
                channel="test",
                direction="out",
                author="bot",
                text="question",
            )
    async with sessions() as session:
        assert await queries.count_rows(session=session, model=Message) == 3


async def test_customer_identity_is_unique_per_channel(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        first = await queries.get_or_create_customer(
            session=session, channel="web", external_id="v1"
        )
        again = await queries.get_or_create_customer(
            session=session, channel="web", external_id="v1", language="en"
        )
        other = await queries.get_or_create_customer(
            session=session, channel="telegram", external_id="v1"
        )
    assert first.id == again.id != other.id
    assert again.language == "en"
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            session.add(Customer(channel="web", external_id="v1"))


async def _add_nps(sessions: Sessions, scores: list[int], *, flow_id: str = "nps") -> None:
    _, conversation_id = await _customer_and_conversation(sessions)
    async with transaction(sessions) as session:
        for score in scores:
            session.add(
                Answer(
                    conversation_id=conversation_id,
                    flow_id=flow_id,
                    step_id="ask_score",
                    variable="score",
                    metric="nps",
                    score=score,
                    scale_low=0,
                    scale_high=10,
                    channel="test",
                    language="zh",
                    touchpoint="relationship",
                )
            )


async def test_nps_summary_counts_each_band_at_its_edges(sessions: Sessions) -> None:
    # detractors 0..6 (7 of them), passives 7, 8, promoters 9, 10, 10
    await _add_nps(sessions, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10])
    async with transaction(sessions) as session:
        # a CES answer and a text answer must not count
        session.add(
            Answer(
                conversation_id=1,
                flow_id="ces",
                step_id="effort",
                variable="effort",
                metric="ces",
                score=2,
                scale_low=1,
                scale_high=7,
                channel="test",
                language="zh",
                touchpoint="support",
            )
        )
        session.add(
            Answer(
                conversation_id=1,
                flow_id="nps",
                step_id="why_low",
                variable="reason",
                text="slow",
                channel="test",
                language="zh",
                touchpoint="relationship",
            )
        )
    async with sessions() as session:
        summary = await queries.nps_summary(session=session)
    assert summary == {"total": 12, "promoters": 3, "passives": 2, "detractors": 7}
    # NPS = %promoters - %detractors = (3 - 7) / 12
    nps = 100 * (summary["promoters"] - summary["detractors"]) / summary["total"]
    assert round(nps, 1) == -33.3


async def test_nps_summary_filters_by_flow_and_handles_no_data(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await queries.nps_summary(session=session) == {
            "total": 0,
            "promoters": 0,
            "detractors": 0,
            "passives": 0,
        }
    await _add_nps(sessions, [10, 9])
    await _add_nps(sessions, [3], flow_id="nps_store")
    async with sessions() as session:
        assert (await queries.nps_summary(session=session, flow_id="nps"))["promoters"] == 2
        only_store = await queries.nps_summary(session=session, flow_id="nps_store")
    assert only_store == {"total": 1, "promoters": 0, "detractors": 1, "passives": 0}


async def test_aware_datetimes_round_trip_as_utc(sessions: Sessions) -> None:
    local = datetime(2026, 5, 1, 20, 30, 15, 123456, tzinfo=SHANGHAI)
    async with transaction(sessions) as session:
        customer = Customer(channel="wechat", external_id="openid-1", last_inbound_at=local)
        session.add(customer)
    async with sessions() as session:
        stored = await queries.find_customer(
            session=session, channel="wechat", external_id="openid-1"
        )
    assert stored is not None and stored.last_inbound_at is not None
    assert stored.last_inbound_at == local  # the same instant ...
    assert stored.last_inbound_at.utcoffset() == timedelta(0)  # ... read back as UTC
    assert stored.last_inbound_at.hour == 12
    assert stored.created_at.tzinfo is not None


async def test_naive_datetimes_are_refused(sessions: Sessions) -> None:
    with pytest.raises(StatementError, match="timezone"):
        async with transaction(sessions) as session:
            session.add(
                Customer(
                    channel="web",
                    external_id="v",
                    last_inbound_at=datetime(2026, 1, 1),  # noqa: DTZ001 - the point of the test
                )
            )


async def test_overdue_conversations_compare_instants_across_offsets(sessions: Sessions) -> None:
    """`expires_at <= now` must compare instants, not the text of two different offsets."""
    _, conversation_id = await _customer_and_conversation(sessions)
    async with transaction(sessions) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.status = "active"
        conversation.expires_at = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    async with sessions() as session:
        # 17:30 in Shanghai is 09:30 UTC: before the deadline, so not overdue yet
        early = datetime(2026, 5, 1, 17, 30, tzinfo=SHANGHAI)
        assert await queries.overdue_conversations(session=session, now=early) == []
        late = datetime(2026, 5, 1, 18, 30, tzinfo=SHANGHAI)  # 10:30 UTC
        found = await queries.overdue_conversations(session=session, now=late)
    assert [c.id for c in found] == [conversation_id]


async def test_quota_counted_sends_read_the_json_payload(
    service: ConversationService, clock: Clock
) -> None:
    reply = await Chat(service, "dan").starts("nps", "en")
    assert reply.customer_id is not None
    ids = [message_id for message_id, _ in reply.messages]
    async with service.sessions() as session, session.begin():
        assert await queries.lock_customer(session=session, channel="test", external_id="dan")
        await outbox.reserve_batch(session=session, message_ids=ids, batch=ids[0], via="cs")
    async with service.sessions() as session:
        counted = [
            await outbox.sends_since(
                session=session,
                customer_id=reply.customer_id,
                since=clock.now,
                excluding=excluding,
            )
            for excluding in ((), ids)
        ]
    assert counted == [1, 0]  # one batch; none once the batch being sent is left out
