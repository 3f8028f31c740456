"""The agents' desk on SQLite and PostgreSQL: the queue, claiming (two agents at once),
replies through the one delivery path, notes, status changes, resolving and the closing
question answered in the customer's chat.

The platform is the recording sender of test_delivery.py; everything else is real.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlmodel import col, select

from admin.access import Principal
from admin.desk import CaseConflict, CaseInvalid, CaseMissing
from bot.channel import Recipient
from cxbot.conversations import ConversationService, Reply
from cxbot.delivery import Delivery
from cxbot.desk import Desk
from flows.state import Outbound
from storage.models import Conversation, Escalation, Event, Message
from storage.writes import Writer
from tests.conftest import Clock, Customer
from tests.cxbot.test_delivery import Platform, delivery_for

pytestmark = pytest.mark.backends("sqlite", "postgresql")

ANN = Principal("user", 1, "ann", "agent")
BO = Principal("user", 2, "bo", "agent")
TOKEN = Principal("token", 7, "helpdesk", "agent")


class Limited(Platform):
    """A platform with WeChat's limits; each send gets its own id."""

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> str | None:
        await super().send(recipient, messages)
        return uuid.uuid4().hex


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def delivery(service: ConversationService, platform: Platform) -> Delivery:
    return delivery_for(service, platform)


def desk_for(service: ConversationService, delivery: Delivery) -> Desk:
    """One app process's desk."""
    return Desk(
        sessions=service.sessions,
        writer=Writer(service.sessions),
        delivery=delivery,
        clock=service.clock,
    )


@pytest.fixture
def desk(service: ConversationService, delivery: Delivery) -> Desk:
    return desk_for(service, delivery)


class Chat:
    """A customer whose replies are delivered, as a channel does after each message."""

    def __init__(self, customer: Customer, delivery: Delivery) -> None:
        self.customer = customer
        self.delivery = delivery

    async def says(self, text: str = "", **fields: object) -> Reply:
        reply = await self.customer.says(text, **fields)
        await self.delivery.deliver(reply)
        return reply

    async def starts(self, flow_id: str = "nps", language: str | None = None) -> Reply:
        reply = await self.customer.starts(flow_id, language)
        await self.delivery.deliver(reply)
        return reply


@pytest.fixture
def chat(customer: Customer, delivery: Delivery) -> Chat:
    return Chat(customer, delivery)


async def detractor(customer: Chat, score: str = "3", why: str = "送货太慢了") -> None:
    """An NPS interview that ends with a detractor's case."""
    await customer.starts("nps", language="zh")
    await customer.says(score)
    await customer.says(why)


async def events(service: ConversationService, name: str) -> list[dict[str, object]]:
    async with service.sessions() as session:
        rows = (await session.exec(select(Event).where(Event.name == name))).all()
    return [row.data for row in rows]


async def test_the_queue_shows_the_case_with_score_summary_and_time_left(
    desk: Desk, chat: Chat, clock: Clock, backend: str
) -> None:
    await detractor(chat)
    clock.advance(minutes=20)
    [card] = await desk.queue()
    assert (card.status, card.priority, card.reason, card.channel, card.language) == (
        "open",
        "high",
        "detractor",
        "test",
        "zh",
    )
    assert card.score == "NPS 3"
    assert card.summary == "NPS 3 · 送货太慢了"
    assert card.seconds_left == 40 * 60 and not card.overdue
    clock.advance(hours=1)
    [late] = await desk.queue(overdue=True)
    assert late.overdue and late.seconds_left == -20 * 60
    assert await desk.queue(channel="wechat") == []
    assert await desk.queue(priority="low") == []


async def test_the_queue_orders_by_priority_then_deadline(
    desk: Desk, service: ConversationService, delivery: Delivery, clock: Clock
) -> None:
    for name in ("a", "b"):
        await detractor(Chat(Customer(service, name), delivery))
        clock.advance(minutes=1)
    asking = Chat(Customer(service, "c"), delivery)
    await asking.starts("nps")
    await asking.says("人工")  # asks for a person: high too
    async with service.writer.transaction() as session:
        first = await session.get(Escalation, 1)
        assert first is not None
        first.priority = "normal"
    ids = [card.id for card in await desk.queue()]
    assert ids == [2, 3, 1]


async def test_two_agents_claiming_at_once_one_wins(
    service: ConversationService, delivery: Delivery, chat: Chat
) -> None:
    await detractor(chat)
    one, two = desk_for(service, delivery), desk_for(service, delivery)
    results = await asyncio.gather(one.claim(1, ANN), two.claim(1, BO), return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], CaseConflict) and lost[0].key == "desk.error.claimed"
    [card] = await one.queue()
    assert card.status == "assigned" and card.assigned_to in ("ann", "bo")
    assert len(await events(service, "escalation-claimed")) == 1


async def test_a_reply_goes_through_the_delivery_path_into_the_transcript(
    desk: Desk, chat: Chat, platform: Platform, service: ConversationService, clock: Clock
) -> None:
    await detractor(chat)
    clock.advance(minutes=5)
    sent = await desk.reply(1, TOKEN, "  您好，我是客服小王。  ")
    assert (sent.state, sent.error) == ("sent", None)
    assert platform.received[-1] == "您好，我是客服小王。"
    found = await desk.case(1)
    assert found.card.status == "assigned" and found.card.assigned_to == "api:helpdesk"
    assert found.card.first_reply_at == clock.now
    last = found.lines[-1]
    assert (last.author, last.direction, last.state, last.text) == (
        "agent",
        "out",
        "sent",
        "您好，我是客服小王。",
    )
    # the customer answers: the bot stays quiet and the agent sees it in the case
    reply = await chat.says("好的，订单号 123")
    assert reply.messages == ()
    found = await desk.case(1, after_id=last.id)
    assert [(x.direction, x.text) for x in found.lines] == [("in", "好的，订单号 123")]


async def test_a_failed_delivery_is_shown_with_its_reason(
    desk: Desk, chat: Chat, platform: Platform
) -> None:
    from bot.channel import Undeliverable

    await detractor(chat)
    platform.failures.append(Undeliverable("Forbidden: bot was blocked by the user"))
    sent = await desk.reply(1, ANN, "hello?")
    assert sent.state == "failed" and sent.error == "Forbidden: bot was blocked by the user"
    found = await desk.case(1)
    assert found.lines[-1].state == "failed"
    assert found.lines[-1].error == "Forbidden: bot was blocked by the user"
    assert found.card.first_reply_at is None  # the customer never got it


async def test_notes_statuses_and_bad_input(desk: Desk, chat: Chat) -> None:
    await detractor(chat)
    with pytest.raises(CaseMissing):
        await desk.claim(99, ANN)
    with pytest.raises(CaseInvalid):
        await desk.reply(1, ANN, "   ")
    with pytest.raises(CaseInvalid):
        await desk.set_status(1, ANN, "resolved")
    with pytest.raises(CaseConflict):
        await desk.set_status(1, ANN, "waiting")  # not assigned yet
    await desk.claim(1, ANN)
    assert (await desk.set_status(1, ANN, "waiting")).status == "waiting"
    assert (await desk.set_status(1, ANN, "assigned")).status == "assigned"
    reopened = await desk.set_status(1, ANN, "open")
    assert reopened.status == "open" and reopened.assigned_to is None
    note = await desk.add_note(1, BO, "<b>VIP</b> 客户")
    assert (note.author, note.text) == ("bo", "<b>VIP</b> 客户")
    assert [n.text for n in (await desk.case(1)).notes] == ["<b>VIP</b> 客户"]
    with pytest.raises(CaseInvalid):
        await desk.resolve(1, ANN, outcome="made-up", note="")


@pytest.mark.parametrize(
    ("answer", "kwargs", "recorded"),
    [
        ("1", {}, "yes"),
        ("", {"kind": "button", "button": "closing:no"}, "no"),
        ("没解决", {}, "no"),
    ],
)
async def test_resolving_asks_the_closing_question_and_records_the_answer(
    desk: Desk,
    chat: Chat,
    platform: Platform,
    service: ConversationService,
    answer: str,
    kwargs: dict[str, object],
    recorded: str,
) -> None:
    await detractor(chat)
    await desk.reply(1, ANN, "已为您补发。")
    card = await desk.resolve(1, ANN, outcome="fixed", note="补发了")
    assert (card.status, card.outcome) == ("resolved", "fixed")
    assert platform.received[-1] == "您的问题解决了吗？"
    async with service.sessions() as session:
        question = (await session.exec(select(Message).order_by(col(Message.id).desc()))).first()
    assert question is not None and question.author == "bot"
    assert [b["payload"] for b in question.payload["buttons"]] == ["closing:yes", "closing:no"]
    assert await desk.queue() == []  # resolved: out of the open queue
    reply = await chat.says(answer, **kwargs)
    thanks = "太好了" if recorded == "yes" else "抱歉没能解决"
    assert reply.messages and reply.messages[0][1].text.startswith(thanks)
    found = await desk.case(1)
    assert found.card.closing_answer == recorded
    assert found.conversation_status == "completed"
    assert found.lines[-2].direction == "in"  # the answer is in the case's transcript
    assert await events(service, "closing-answered") == [{"escalation_id": 1, "answer": recorded}]
    [resolved] = await events(service, "escalation-resolved")
    assert resolved["outcome"] == "fixed" and resolved["asked"] is True
    # the customer may be surveyed again later
    again = await chat.starts("nps")
    assert again.messages


async def test_another_message_after_the_closing_question_ends_it_unanswered(
    desk: Desk, chat: Chat, service: ConversationService
) -> None:
    await detractor(chat)
    await desk.resolve(1, ANN, outcome="explained", note="")
    reply = await chat.says("你好")
    assert reply.messages  # handled as a new message (a welcome), not swallowed
    found = await desk.case(1)
    assert found.card.closing_answer is None and found.conversation_status == "completed"
    assert await events(service, "closing-unanswered") == [{"escalation_id": 1}]


async def test_closing_without_contact_ends_the_conversation_without_a_question(
    desk: Desk, chat: Chat, platform: Platform, service: ConversationService
) -> None:
    await detractor(chat)
    before = list(platform.received)
    card = await desk.close(1, BO, note="duplicate")
    assert card.status == "closed" and platform.received == before
    with pytest.raises(CaseConflict):
        await desk.resolve(1, BO, outcome="fixed", note="")
    with pytest.raises(CaseConflict):
        await desk.reply(1, BO, "hello")
    async with service.sessions() as session:
        conversation = await session.get(Conversation, 1)
    assert conversation is not None and conversation.status == "completed"
    assert conversation.ended_at is not None


async def test_resolving_without_the_question_closes_at_once(
    desk: Desk, chat: Chat, service: ConversationService
) -> None:
    await detractor(chat)
    await desk.resolve(1, ANN, outcome="refund", note="", ask=False)
    found = await desk.case(1)
    assert found.conversation_status == "completed" and found.closing_asked_at is None


async def test_the_stamp_moves_with_new_messages_and_changes(
    desk: Desk, chat: Chat, clock: Clock
) -> None:
    await detractor(chat)
    first = await desk.stamp(1)
    await chat.says("有人吗？")
    second = await desk.stamp(1)
    assert second != first
    clock.advance(seconds=1)
    await desk.claim(1, ANN)
    assert await desk.stamp(1) != second


async def test_limits_show_the_window_and_quota(
    service: ConversationService, chat: Chat, clock: Clock
) -> None:
    platform = Limited(window=timedelta(hours=48), quota=5)
    delivery = delivery_for(service, platform)
    desk = desk_for(service, delivery)
    await detractor(chat)
    await desk.reply(1, ANN, "one")
    limits = (await desk.case(1)).limits
    assert limits.window_hours == 48 and limits.window_left_seconds == 48 * 3600
    assert limits.quota == 5 and limits.refusal is None
    assert limits.sends_left is not None and limits.sends_left < 5
    clock.advance(hours=49)
    limits = (await desk.case(1)).limits
    assert limits.refusal == "desk.limit.window_passed"
    sent = await desk.reply(1, ANN, "too late")
    assert sent.state == "failed" and sent.error is not None and "48-hour window" in sent.error


async def test_a_closing_question_that_cannot_be_delivered_closes_the_conversation(
    desk: Desk, chat: Chat, platform: Platform
) -> None:
    from bot.channel import Undeliverable

    await detractor(chat)
    platform.failures.append(Undeliverable("Forbidden: bot was blocked by the user"))
    card = await desk.resolve(1, ANN, outcome="fixed", note="")
    assert card.status == "resolved"
    found = await desk.case(1)
    assert found.closing_asked_at is None and found.conversation_status == "completed"
    assert found.lines[-1].state == "failed"
