"""Two app processes on one PostgreSQL database: every message is handled and sent once.

On SQLite one writer at a time makes this easy; on PostgreSQL two processes really do run
their transactions side by side, so exactly-once rests on the unique keys, the row locks
and the conditional claim UPDATE.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from cxbot.conversations import ConversationService
from flows.registry import FlowRegistry
from storage.database import create_engine, create_sessions
from storage.models import Answer, Conversation, Message
from tests.conftest import Clock, Customer, claim, texts

pytestmark = pytest.mark.backends("postgresql")

MESSAGES = 20


@pytest.fixture
async def processes(
    db_url: str, registry: FlowRegistry, clock: Clock
) -> AsyncIterator[tuple[ConversationService, ConversationService]]:
    """Two services, each with its own engine and connection pool (two app processes)."""
    engines: list[AsyncEngine] = [create_engine(db_url), create_engine(db_url)]
    try:
        one, two = (
            ConversationService(sessions=create_sessions(e), registry=registry, clock=clock)
            for e in engines
        )
        yield one, two
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_backend_is_postgresql(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        version = (await connection.exec_driver_sql("SHOW server_version")).scalar()
    assert engine.dialect.name == "postgresql"
    assert str(version).startswith("15")


async def test_each_message_delivered_twice_at_once_is_handled_once(
    processes: tuple[ConversationService, ConversationService], clock: Clock
) -> None:
    one, two = processes
    customers = [Customer(one, f"c{n}") for n in range(MESSAGES)]
    incoming = [c.incoming(kind="command", command="start", flow_id="nps") for c in customers]

    replies = await asyncio.gather(*(s.handle(m) for m in incoming for s in (one, two)))

    for first, second in zip(replies[::2], replies[1::2], strict=True):
        assert sorted([first.duplicate, second.duplicate]) == [False, True]
        assert texts(first) == texts(second) and len(texts(first)) == 1
        assert first.conversation_id == second.conversation_id
    async with one.sessions() as session:
        inbound = (await session.exec(select(Message).where(Message.direction == "in"))).all()
        outbound = (await session.exec(select(Message).where(Message.direction == "out"))).all()
        conversations = (await session.exec(select(Conversation))).all()
    assert sorted(m.platform_message_id or "" for m in inbound) == sorted(
        m.platform_message_id or "" for m in incoming
    )
    assert Counter(m.reply_to_id for m in outbound) == {m.id: 1 for m in inbound}
    assert len(conversations) == MESSAGES

    # the answers, again each delivered to both processes at once
    answers = [c.incoming(str(n % 11)) for n, c in enumerate(customers)]
    replies = await asyncio.gather(*(s.handle(m) for m in answers for s in (one, two)))
    assert sum(not r.duplicate for r in replies) == MESSAGES
    async with one.sessions() as session:
        scores = (await session.exec(select(Answer.score).order_by(col(Answer.id)))).all()
    assert sorted(s or 0 for s in scores) == sorted(n % 11 for n in range(MESSAGES))

    # every outbound message is held by the process that stored it: nobody else takes it
    ids = [message_id for reply in replies for message_id, _ in reply.messages]
    ids = sorted(set(ids))
    assert await asyncio.gather(claim(one, ids), claim(two, ids)) == [[], []]
    # once those senders are gone (their leases ran out), exactly one of two takes each
    clock.advance(seconds=one.lease.total_seconds() + 1)
    claims = await asyncio.gather(*(claim(s, [i]) for i in ids for s in (one, two)))
    assert Counter(i for taken in claims for i in taken) == dict.fromkeys(ids, 1)
    both = await asyncio.gather(claim(one, ids), claim(two, ids))
    assert both == [[], []]  # all taken already


async def test_a_batch_of_outbound_ids_claimed_by_two_senders_goes_out_once(
    processes: tuple[ConversationService, ConversationService], clock: Clock
) -> None:
    one, two = processes
    ids: list[int] = []
    for n in range(MESSAGES):
        reply = await Customer(one, f"c{n}").starts("nps", "en")
        ids += [message_id for message_id, _ in reply.messages]

    clock.advance(seconds=one.lease.total_seconds() + 1)  # their first senders are gone
    # the same ids in opposite orders: rows are locked in id order, so no deadlock
    first, second = await asyncio.gather(claim(one, ids), claim(two, list(reversed(ids))))
    assert sorted(first + second) == sorted(ids)
    assert not set(first) & set(second)
    assert await asyncio.gather(claim(one, ids), claim(two, ids)) == [[], []]
    async with one.sessions() as session:
        statement = select(Message.delivery_state).where(col(Message.id).in_(ids))
        states = (await session.exec(statement)).all()
    assert set(states) == {"sending"}


async def test_two_different_messages_of_one_customer_at_once_are_taken_in_turn(
    processes: tuple[ConversationService, ConversationService],
) -> None:
    """Both processes load the same question; the customer row lock makes the second wait,
    so its message answers the next question instead of overwriting the first answer."""
    one, two = processes
    for n in range(MESSAGES):
        customer = Customer(one, f"c{n}")
        await customer.starts("nps", "en")
        nine, ten = customer.incoming("9"), customer.incoming("10")
        await asyncio.gather(one.handle(nine), two.handle(ten))
    async with one.sessions() as session:
        answers = (await session.exec(select(Answer).order_by(col(Answer.id)))).all()
    by_conversation: dict[int, list[Answer]] = {}
    for answer in answers:
        by_conversation.setdefault(answer.conversation_id, []).append(answer)
    assert len(by_conversation) == MESSAGES
    for recorded in by_conversation.values():  # one score, then the other as the reason
        assert [a.score is not None for a in recorded] == [True, False]
        assert (recorded[0].score, recorded[1].text) in {(9, "10"), (10, "9")}

