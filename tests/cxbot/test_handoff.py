"""The customer's side of a handoff on the real service and database (SQLite, PostgreSQL):
cases from alert words and requests for a person, one open case per conversation, deadlines
in service hours, the wait message, silence while handed off, and a case nobody picks up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from cxbot.conversations import ConversationService
from cxbot.delivery import Delivery
from cxbot.handoff import HandoffPolicy
from cxbot.service_hours import ServiceHours
from cxbot.unattended import tell_unattended
from flows.registry import FlowRegistry
from storage.database import Sessions, create_engine, create_sessions
from storage.models import Conversation, Escalation, Event, Message
from tests.conftest import Clock, Customer, texts

pytestmark = pytest.mark.backends("sqlite", "postgresql")

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_1730 = datetime(2026, 11, 27, 17, 30, tzinfo=SHANGHAI).astimezone(UTC)
OFFICE = HandoffPolicy(hours=ServiceHours.parse("Mon-Fri 09:00-18:00", "Asia/Shanghai"))
ALERT_ZH = "您反映的情况需要专人处理，我正在为您转接客服同事，同事会在这里回复您。"
NOTICE_ZH = "很抱歉，我们的同事还没能回复您。"


async def rows(sessions: Sessions, model: type[Any], *where: Any) -> list[Any]:
    async with sessions() as session:
        statement: Any = select(model).where(*where).order_by(*model.__table__.primary_key)
        return list((await session.exec(statement)).all())


def office_service(sessions: Sessions, registry: FlowRegistry, clock: Clock) -> ConversationService:
    return ConversationService(sessions=sessions, registry=registry, clock=clock, handoff=OFFICE)


# --- when a case opens ---------------------------------------------------------------------


async def test_an_alert_word_mid_interview_opens_an_urgent_case(
    customer: Customer, sessions: Sessions, clock: Clock
) -> None:
    await customer.starts("nps", "zh")
    at = clock.advance(minutes=1)
    reply = await customer.says("你们再不处理我就打12315投诉")
    assert texts(reply) == [ALERT_ZH, "客服同事正在值班，预计 15 分钟内在这里回复您。"]
    assert [name for name, _ in reply.events] == ["escalation-requested", "interview-handed-off"]
    (case,) = await rows(sessions, Escalation)
    assert (case.reason, case.priority, case.status) == ("alert-word", "urgent", "open")
    assert case.due_at == at + timedelta(minutes=15)
    assert case.unattended_at == at + timedelta(hours=1)  # default: an hour without a reply
    (conversation,) = await rows(sessions, Conversation)
    assert conversation.status == "handed_off"


async def test_asking_for_a_person_mid_interview_opens_a_high_case(
    customer: Customer, sessions: Sessions, clock: Clock
) -> None:
    await customer.starts("nps", "en")
    await customer.says("3")  # a detractor: the rule opens the case
    (case,) = await rows(sessions, Escalation)
    assert (case.reason, case.priority) == ("detractor", "high")
    reply = await customer.says("can I talk to a human please")
    assert texts(reply) == [
        "Sure, I'm bringing in a person from our team. They will reply here shortly.",
        "Our team is in now: expect a reply here within 1 hour.",
    ]
    assert len(await rows(sessions, Escalation)) == 1  # the same case, not a second one


async def test_alert_words_are_a_setting(
    sessions: Sessions, registry: FlowRegistry, clock: Clock
) -> None:
    from cxbot.settings import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        alert_words="差评, chargeback",
        alert_priority="high",
    )
    policy = HandoffPolicy.from_settings(settings)
    service = ConversationService(
        sessions=sessions, registry=registry, clock=clock, handoff=policy
    )
    bob = Customer(service, "bob")
    await bob.starts("nps", "en")
    reply = await bob.says("I want a refund")  # not on this server's list: a re-ask
    assert "Sorry, I didn't get that" in texts(reply)[0]
    await bob.says("I'll file a CHARGEBACK")
    (case,) = await rows(sessions, Escalation)
    assert (case.reason, case.priority) == ("alert-word", "high")


# --- deadlines and the wait message -----------------------------------------------------------


async def test_friday_evening_case_is_due_monday_and_the_customer_is_told_so(
    sessions: Sessions, registry: FlowRegistry
) -> None:
    clock = Clock(FRIDAY_1730)
    service = office_service(sessions, registry, clock)
    carol = Customer(service, "carol")
    await carol.starts("nps", "en")
    reply = await carol.says("talk to a human")
    assert texts(reply)[1] == (
        "A colleague will reply here as soon as possible, by Monday 30 Nov 09:30 at the latest."
    )
    (case,) = await rows(sessions, Escalation)
    monday_0930 = datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
    assert case.due_at == monday_0930
    assert case.unattended_at == monday_0930  # an hour of service time, never before the due


async def test_outside_service_hours_the_wait_message_names_the_opening(
    sessions: Sessions, registry: FlowRegistry
) -> None:
    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=SHANGHAI)
    service = office_service(sessions, registry, Clock(saturday.astimezone(UTC)))
    dan = Customer(service, "dan")
    await dan.starts("nps", "zh")
    reply = await dan.says("转人工")
    assert texts(reply)[1] == (
        "现在是非服务时间（服务时间：周一至周五 09:00–18:00，Asia/Shanghai）。客服同事会在 "
        "周一 11月30日 09:00 上班后在这里回复您，最晚 周一 11月30日 10:00。您可以先在这里留言。"
    )


async def test_a_detractor_handed_off_by_the_flow_gets_the_wait_message(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("nps", "en")
    await customer.says("2")
    reply = await customer.says("the delivery was a week late")
    assert texts(reply) == [
        "Thank you for telling us. A member of our team will follow up here shortly to put "
        "it right.",
        "Our team is in now: expect a reply here within 1 hour.",
    ]


# --- one open case per conversation -----------------------------------------------------------


async def test_an_internal_error_after_a_handoff_keeps_one_case(
    customer: Customer, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await customer.starts("nps", "en")
    await customer.says("human")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("flows.engine.advance", broken)
    apology = await customer.says("hello?")
    assert texts(apology)[0].startswith("Sorry, something went wrong on our side.")
    cases = await rows(sessions, Escalation)
    assert [(c.reason, c.status) for c in cases] == [("customer-request", "open")]


async def test_the_database_refuses_a_second_open_case(
    customer: Customer, sessions: Sessions, clock: Clock
) -> None:
    await customer.starts("nps", "en")
    reply = await customer.says("human")
    assert reply.conversation_id is not None and reply.customer_id is not None

    def case(status: str) -> Escalation:
        return Escalation(
            conversation_id=reply.conversation_id or 0,
            customer_id=reply.customer_id or 0,
            reason="other",
            priority="low",
            status=status,
            due_at=clock(),
        )

    for status in ("open", "assigned", "waiting"):
        async with sessions() as session:
            session.add(case(status))
            with pytest.raises(IntegrityError):
                await session.commit()
    async with sessions() as session:
        (first,) = (await session.exec(select(Escalation))).all()
        first.status = "resolved"
        session.add(case("open"))  # a resolved case leaves room for a new one
        session.add(case("closed"))
        await session.commit()
    assert [c.status for c in await rows(sessions, Escalation)] == ["resolved", "open", "closed"]


# --- while handed off ---------------------------------------------------------------------


async def test_silent_while_handed_off_and_a_waiting_case_goes_back_to_its_agent(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("nps", "zh")
    handed = await customer.says("我要投诉")
    async with sessions() as session:
        (case,) = (await session.exec(select(Escalation))).all()
        case.status = "waiting"  # the agent asked the customer something
        await session.commit()
    for text in ("有人吗？", "订单号 12345", "/start"):
        command = "start" if text == "/start" else None
        quiet = await customer.says(text, kind="command" if command else "text", command=command)
        assert quiet.messages == ()
        assert quiet.conversation_id == handed.conversation_id
    stored = await rows(sessions, Message, Message.conversation_id == handed.conversation_id)
    said = [m.text for m in stored if m.direction == "in"]
    assert said[-3:] == ["有人吗？", "订单号 12345", "/start"]
    (case,) = await rows(sessions, Escalation)
    assert case.status == "assigned"


# --- a handoff nobody picks up --------------------------------------------------------------


async def test_nobody_picks_up_the_customer_is_told_once_and_may_start_over(
    customer: Customer, service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    await customer.starts("nps", "zh")
    handed = await customer.says("人工")
    clock.advance(minutes=59)
    assert await tell_unattended(service) == 0
    assert (await customer.says("/start", kind="command", command="start")).messages == ()
    clock.advance(minutes=2)
    assert await tell_unattended(service) == 1
    assert await tell_unattended(service) == 0  # once

    notices = await rows(sessions, Message, Message.direction == "out", Message.author == "bot")
    notice = notices[-1]
    assert notice.text.startswith(NOTICE_ZH) and "“评价”重新开始" in notice.text
    assert (notice.delivery_state, notice.conversation_id) == ("pending", handed.conversation_id)
    events = await rows(sessions, Event, Event.name == "handoff-unattended")
    assert len(events) == 1

    assert (await customer.says("还是没人？")).messages == ()  # still silent, still stored
    restart = await customer.says("评价")  # a start keyword now starts a new survey
    assert "您有多大可能把我们推荐给朋友或同事" in texts(restart)[0]
    assert [name for name, _ in restart.events] == ["interview-abandoned", "interview-started"]
    (case,) = await rows(sessions, Escalation)
    assert case.status == "open" and case.due_at < clock()  # open, and overdue
    statuses = [c.status for c in await rows(sessions, Conversation)]
    assert statuses == ["abandoned", "active"]


async def test_slash_start_and_a_new_survey_also_start_over_after_the_notice(
    customer: Customer, service: ConversationService, clock: Clock
) -> None:
    await customer.starts("nps", "en")
    await customer.says("agent")
    clock.advance(hours=2)
    await tell_unattended(service)
    reply = await customer.says("/start", kind="command", command="start")
    assert "How likely are you to recommend us" in texts(reply)[0]


async def test_an_agent_reply_means_no_notice(
    customer: Customer, service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    await customer.starts("nps", "en")
    handed = await customer.says("human")
    delivery = Delivery(writer=service.writer, clock=clock)
    clock.advance(minutes=20)
    await delivery.send_text(
        channel="test",
        customer_ref="alice",
        text="Hi, I'm Li from support.",
        conversation_id=handed.conversation_id,
    )
    clock.advance(hours=3)
    assert await tell_unattended(service) == 0
    (case,) = await rows(sessions, Escalation)
    assert case.unattended_told_at is None
    assert case.unattended_at is None  # looked at once, never again


async def test_every_due_case_is_told_in_one_sweep_however_many(
    service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    people = [Customer(service, f"p{n}") for n in range(7)]
    for person in people:
        await person.says("/human", kind="command", command="human")
    clock.advance(hours=2)
    assert await tell_unattended(service, batch=3) == 7


async def test_a_resolved_case_or_a_customer_who_moved_on_gets_no_notice(
    service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    erin, finn = Customer(service, "erin"), Customer(service, "finn")
    for person in (erin, finn):
        await person.starts("nps", "en")
        await person.says("human")
    async with sessions() as session:
        first = (await session.exec(select(Escalation).order_by(col(Escalation.id)))).first()
        assert first is not None
        first.status = "resolved"
        await session.commit()
    await finn.says("feedback", kind="command", command="start", flow_id="csat", restart=True)
    clock.advance(hours=5)
    assert await tell_unattended(service) == 0


async def test_two_processes_sweeping_at_once_tell_the_customer_once(
    db_url: str, registry: FlowRegistry, clock: Clock
) -> None:
    engines = [create_engine(db_url) for _ in range(2)]
    try:
        services = [
            ConversationService(sessions=create_sessions(e), registry=registry, clock=clock)
            for e in engines
        ]
        people = [Customer(services[n % 2], f"c{n}") for n in range(6)]
        for person in people:
            await person.starts("nps", "en")
            await person.says("human")
        clock.advance(hours=2)
        told = await asyncio.gather(*(tell_unattended(s) for s in services))
        assert sum(told) == 6
        sessions = create_sessions(engines[0])
        notices = await rows(sessions, Message, col(Message.text).startswith("We're sorry"))
        assert sorted(n.customer_id for n in notices) == sorted({n.customer_id for n in notices})
        assert len(notices) == 6
    finally:
        for e in engines:
            await e.dispose()


async def test_the_notice_goes_out_through_the_delivery_path(
    customer: Customer, service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    from tests.cxbot.recording_sender import RecordingSender

    await customer.starts("nps", "en")
    await customer.says("human")
    delivery = Delivery(writer=service.writer, clock=clock)
    sender = RecordingSender()
    delivery.register(sender)
    clock.advance(hours=2)
    await tell_unattended(service)
    assert await delivery.sweep() >= 1
    assert [t for t in sender.texts if t.startswith("We're sorry")] != []
    notice = (await rows(sessions, Message, Message.author == "bot"))[-1]
    assert notice.delivery_state == "sent"


# --- asking for a person outside any interview ---------------------------------------------


async def test_asking_for_a_person_with_no_interview_running_reaches_the_team(
    customer: Customer, sessions: Sessions, clock: Clock
) -> None:
    hello = await customer.says("你好")
    assert "回复“评价”即可参与" in texts(hello)[0]  # the welcome, as before
    reply = await customer.says("转人工")
    assert texts(reply) == [
        "好的，正在为您转接人工客服，请稍候，同事会在这里回复您。",
        "客服同事正在值班，预计 1 小时内在这里回复您。",
    ]
    assert [name for name, _ in reply.events] == [
        "interview-started",
        "escalation-requested",
        "interview-handed-off",
    ]
    (conversation,) = await rows(sessions, Conversation)
    assert (conversation.flow_id, conversation.status) == ("direct-handoff", "handed_off")
    (case,) = await rows(sessions, Escalation)
    assert (case.reason, case.priority, case.conversation_id) == (
        "customer-request",
        "high",
        conversation.id,
    )
    inbound = await rows(sessions, Message, Message.text == "转人工")
    assert inbound[0].conversation_id == conversation.id
    assert (await customer.says("我的订单还没到")).messages == ()  # to the agent, silently
    assert len(await rows(sessions, Escalation)) == 1


async def test_an_alert_word_with_no_interview_running_opens_an_urgent_case(
    service: ConversationService, sessions: Sessions, registry: FlowRegistry
) -> None:
    gus = Customer(service, "gus")
    reply = await gus.says("I will take this to my lawyer", language_hint="en")
    assert texts(reply)[0].startswith("This needs a person from our team")
    (case,) = await rows(sessions, Escalation)
    assert (case.reason, case.priority) == ("alert-word", "urgent")
    # the conversation is pinned like any other: a second process (no memory of it) loads it
    other = ConversationService(sessions=sessions, registry=FlowRegistry([]), clock=service.clock)
    assert (await Customer(other, "gus").says("hello?", platform_message_id="gus-x")).messages == ()
    assert registry.current("direct-handoff") is None  # never listed nor started by name


async def test_words_that_do_not_ask_for_a_person_still_get_the_welcome(
    customer: Customer, sessions: Sessions
) -> None:
    for text in ("the agent was rude", "hello", "订单123156"):
        reply = await customer.says(text)
        assert texts(reply)[0].startswith(("Hi! Reply", "您好！回复")), text
    assert await rows(sessions, Escalation) == []


async def test_after_the_notice_a_direct_handoff_may_start_a_survey(
    service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    hal = Customer(service, "hal")
    await hal.says("talk to a human")
    clock.advance(hours=2)
    assert await tell_unattended(service) == 1
    notice = (await rows(sessions, Message, Message.author == "bot"))[-1]
    assert notice.text.endswith("You can also reply “feedback” to start again.")
    reply = await hal.says("/start", kind="command", command="start")
    assert "How likely are you to recommend us" in texts(reply)[0]


async def test_after_the_notice_an_integrators_new_survey_may_start(
    customer: Customer, service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    await customer.starts("nps", "en")
    await customer.says("human")
    refused = await customer.says(kind="trigger", flow_id="csat")
    assert refused.refused == "busy"  # an agent has the customer, nobody told them otherwise
    clock.advance(hours=2)
    await tell_unattended(service)
    started = await customer.says(kind="trigger", flow_id="csat")
    assert started.refused is None
    assert [c.flow_id for c in await rows(sessions, Conversation)] == ["nps", "csat"]
    (case,) = await rows(sessions, Escalation)
    assert case.status == "open"


async def test_an_agent_reply_through_the_desk_means_no_notice_a_failed_one_does_not(
    service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    """The desk's reply (cxbot/desk.py) is an `agent` row; one the platform refused is not
    a reply the customer got."""
    delivery = Delivery(writer=service.writer, clock=clock)
    ivy, jon = Customer(service, "ivy"), Customer(service, "jon")
    replies = {}
    for person in (ivy, jon):
        await person.starts("nps", "en")
        replies[person.ref] = await person.says("human")
    clock.advance(minutes=10)
    for person in (ivy, jon):
        await delivery.send_text(
            channel="test",
            customer_ref=person.ref,
            text="Hello, this is Li.",
            conversation_id=replies[person.ref].conversation_id,
        )
    async with sessions() as session:
        failed = (
            await session.exec(select(Message).where(Message.text == "Hello, this is Li."))
        ).all()
        refused = next(m for m in failed if m.conversation_id == replies["jon"].conversation_id)
        refused.delivery_state, refused.error = "failed", "refused: blocked by the user"
        await session.commit()
    clock.advance(hours=3)
    assert await tell_unattended(service) == 1  # jon, whose reply never arrived
    notices = await rows(sessions, Message, col(Message.text).startswith("We're sorry"))
    assert [n.conversation_id for n in notices] == [replies["jon"].conversation_id]


async def test_a_direct_handoff_is_not_counted_as_an_interview(
    service: ConversationService, sessions: Sessions
) -> None:
    from admin.metrics import MetricsQuery, load_metrics
    from cxbot.direct_handoff import FLOW_ID
    from storage.dashboard import NOT_INTERVIEWS

    assert FLOW_ID in NOT_INTERVIEWS
    await Customer(service, "survey").starts("nps", "en")
    await Customer(service, "asks").says("转人工")  # no interview: straight to a person
    body = await load_metrics(sessions, MetricsQuery())
    assert body["conversations"]["started"] == 1  # the survey, not the request for a person
    from storage.dashboard import filter_values
    from storage.database import transaction

    async with transaction(sessions) as session:
        assert (await filter_values(session=session))["flow"] == ["nps"]  # not offered either
