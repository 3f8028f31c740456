"""NUL in customer text: PostgreSQL refuses it, so every backend stores U+FFFD instead.

Through the query functions and the conversation service, on SQLite and PostgreSQL; the
values are read back in a fresh session, so they are what the database holds.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from cxbot.conversations import ConversationService
from storage import queries
from storage.database import Sessions, transaction
from storage.models import Answer, Conversation, Customer, Event
from storage.nul import dumps_without_nul, without_nul
from tests.conftest import START
from tests.conftest import Customer as Chat

pytestmark = pytest.mark.backends("sqlite", "postgresql")

BAD = "slow\x00 service"
SAFE = "slow\ufffd service"


def test_nul_is_replaced_in_strings_and_json_values_alone() -> None:
    value = {"k\x00": ["a\x00", ("b", 3, None)], "n": 1.5, "t": True}
    assert without_nul(value) == {"k\ufffd": ["a\ufffd", ("b", 3, None)], "n": 1.5, "t": True}
    assert dumps_without_nul({"s": "\x00", "literal": "\\u0000"}) == (
        '{"s": "\\ufffd", "literal": "\\\\u0000"}'  # a typed backslash-u0000 stays text
    )
    unchanged = {"a": "b"}
    assert without_nul("plain") == "plain"
    assert without_nul(unchanged) == unchanged


async def test_nul_in_names_messages_payloads_events_and_answers(
    sessions: Sessions, engine: AsyncEngine
) -> None:
    async with transaction(sessions) as session:
        customer = await queries.get_or_create_customer(
            session=session, channel="web", external_id="v\x001", display_name="Al\x00ice"
        )
        assert customer.id is not None
        conversation = Conversation(
            customer_id=customer.id,
            channel="web",
            flow_id="nps",
            flow_version="v1",
            touchpoint="relationship",
            journey_stage="loyalty",
            language="en",
            status="active",
            state={"answers": {"reason": BAD}},
        )
        session.add(conversation)
        await session.flush()
        assert conversation.id is not None
        message = queries.add_message(
            session=session,
            customer_id=customer.id,
            conversation_id=conversation.id,
            channel="web",
            direction="in",
            author="customer",
            text=BAD,
            payload={"button": "why_low:\x00", "raw\x00key": ["\x00"]},
            platform_message_id="m\x001",
        )
        queries.append_events(
            session=session,
            conversation_id=conversation.id,
            events=[("answer-recorded", {"text": BAD})],
            at=START,
        )
        session.add(
            Answer(
                conversation_id=conversation.id,
                flow_id="nps",
                step_id="why_low",
                variable="reason",
                text=BAD,
                channel="web",
                language="en",
                touchpoint="relationship",
            )
        )
        await session.flush()
        assert message.id is not None
        message.payload = {**message.payload, "sent_as": "\x00"}  # an UPDATE of JSON
        await session.flush()

    async with sessions() as session:
        found = await queries.find_customer(session=session, channel="web", external_id="v\x001")
        assert found is not None and found.display_name == "Al\ufffdice"
        assert found.external_id == "v\ufffd1"
        inbound = await queries.find_inbound(
            session=session, channel="web", platform_message_id="m\x001"
        )
        assert inbound is not None and inbound.id == message.id
        (stored,) = await queries.transcript(session=session, conversation_id=conversation.id)
        assert stored.text == SAFE
        assert stored.payload == {
            "button": "why_low:\ufffd",
            "raw\ufffdkey": ["\ufffd"],
            "sent_as": "\ufffd",
        }
        kept = await session.get(Conversation, conversation.id)
        assert kept is not None and kept.state == {"answers": {"reason": SAFE}}
        event = (await session.exec(select(Event))).one()
        assert event.data == {"text": SAFE}
        answer = (await session.exec(select(Answer))).one()
        assert answer.text == SAFE
        name = await session.get(Customer, customer.id)
        assert name is not None and name.display_name == "Al\ufffdice"

    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":  # jsonb refuses \u0000: a later move to it works
            casts = "CAST(payload AS jsonb), CAST(state AS jsonb), CAST(data AS jsonb)"
            await connection.execute(text(f"SELECT {casts} FROM message, conversation, event"))
        raw = (await connection.execute(text("SELECT text, payload FROM message"))).one()
        assert "\x00" not in str(raw[0]) and "\\u0000" not in str(raw[1])


async def test_a_customer_who_types_nul_gets_through_the_interview(
    sessions: Sessions, service: ConversationService
) -> None:
    chat = Chat(service, "nul\x00fan", channel="web")
    await chat.starts("nps", language="en")
    await chat.says("3", display_name="Bob\x00by")
    reply = await chat.says(BAD)
    assert reply.messages  # the hand-off message, so the answer was taken
    async with sessions() as session:
        texts = select(Answer.text).where(col(Answer.text).is_not(None))
        answers = (await session.exec(texts)).all()
        customer = await queries.find_customer(
            session=session, channel="web", external_id="nul\x00fan"
        )
    assert answers == [SAFE]
    assert customer is not None and customer.display_name == "Bob\ufffdby"
