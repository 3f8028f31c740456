"""Announcing the loop: signed webhooks from a durable queue, notices of new and overdue
cases to the agents' Telegram group and WeCom robot — each once, across restarts and
processes. Real receivers on 127.0.0.1, the real python-telegram-bot client against the
fake Bot API, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, select
from telegram import Bot

from bot.telegram_sender import TelegramSender
from cxbot.conversations import ConversationService
from cxbot.dispatcher import Backoff, Dispatcher
from cxbot.notices import NoticeConfig, Notifier
from cxbot.recording import SLA
from cxbot.signatures import verify
from flows.registry import FlowRegistry
from storage import dispatches, webhooks
from storage.database import Sessions, create_engine, create_sessions
from storage.loop_tables import Dispatch, WebhookEndpoint
from storage.models import Escalation
from storage.writes import Writer
from tests.conftest import Clock, Customer
from tests.fakes.receivers import FakeWeComRobot, WebhookReceiver
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.backends("sqlite", "postgresql")

SECRET = "whsec_test-secret-for-the-receiver"
CASES = "https://cx.example.com/admin/escalations/{id}"
GROUP = "-1001234567890"


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def register(writer: Writer, clock: Clock, url: str, *events: str) -> int:
    async with writer.transaction() as session:
        endpoint = await webhooks.add_endpoint(
            session=session, url=url, events=events, secret=SECRET, now=clock(), created_by="ada"
        )
    assert endpoint.id is not None
    return endpoint.id


async def detractor(customer: Customer) -> None:
    await customer.starts("nps", language="en")
    await customer.says("2")


async def rows(sessions: Sessions, table: type) -> list:  # type: ignore[type-arg]
    async with sessions() as session:
        return list((await session.exec(select(table).order_by(col(table.id)))).all())


def notifier(writer: Writer, clock: Clock, **config: object) -> Notifier:
    return Notifier(writer=writer, clock=clock, config=NoticeConfig(case_url=CASES, **config))  # type: ignore[arg-type]


async def test_a_receiver_failing_twice_gets_the_case_once_signed_across_a_restart(
    service: ConversationService,
    clock: Clock,
    customer: Customer,
    receiver: WebhookReceiver,
    http: httpx.AsyncClient,
    db_url: str,
    sessions: Sessions,
) -> None:
    endpoint_id = await register(service.writer, clock, receiver.url, "escalation.opened")
    receiver.statuses = [503, 500]
    await detractor(customer)
    assert await notifier(service.writer, clock).scan() == 1
    assert await notifier(service.writer, clock).scan() == 0  # announced once

    first = Dispatcher(writer=service.writer, clock=clock, http=http)
    assert await first.run_once() == 0
    assert await first.run_once() == 0  # not due again yet
    assert len(receiver.received) == 1
    assert verify(SECRET, receiver.received[0].body, sig(receiver, 0), clock().timestamp())

    # a restart: another engine, another dispatcher, the same queue
    engine = create_engine(db_url)
    try:
        again = Dispatcher(writer=Writer(create_sessions(engine)), clock=clock, http=http)
        clock.advance(seconds=29)
        assert await again.run_once() == 0 and len(receiver.received) == 1
        clock.advance(seconds=1)  # 30 s after the first failure
        assert await again.run_once() == 0 and len(receiver.received) == 2
        assert verify(SECRET, receiver.received[1].body, sig(receiver, 1), clock().timestamp())
        clock.advance(seconds=60)  # the backoff doubled
        assert await again.run_once() == 1 and len(receiver.received) == 3
        clock.advance(hours=5)
        assert await again.run_once() == 0 and len(receiver.received) == 3
    finally:
        await engine.dispose()

    last = receiver.received[2]
    assert verify(SECRET, last.body, sig(receiver, 2), clock().timestamp() - 5 * 3600)
    assert not verify(SECRET, last.body + b" ", sig(receiver, 2), clock().timestamp() - 18000)
    assert not verify("whsec_other", last.body, sig(receiver, 2), clock().timestamp() - 18000)
    assert {r.headers["X-Cxbot-Delivery"] for r in receiver.received} == {"escalation.opened:1"}
    assert {r.body for r in receiver.received} == {last.body}  # the same bytes each time
    body = last.json()
    (case,) = await rows(sessions, Escalation)
    assert body["event"] == "escalation.opened"
    assert body["data"]["escalation"]["id"] == case.id
    assert body["data"]["escalation"]["reason"] == "detractor"
    assert body["data"]["escalation"]["channel"] == "test"
    assert body["data"]["escalation"]["url"] == f"https://cx.example.com/admin/escalations/{case.id}"
    (job,) = await rows(sessions, Dispatch)
    assert (job.state, job.attempts, job.last_status) == ("sent", 3, "204")
    (endpoint,) = await rows(sessions, WebhookEndpoint)
    assert (endpoint.id, endpoint.last_status) == (endpoint_id, "204")
    assert endpoint.last_success_at == clock() - timedelta(hours=5)


def sig(receiver: WebhookReceiver, index: int) -> str:
    return receiver.received[index].headers["X-Cxbot-Signature"]


async def test_a_receiver_that_always_fails_is_given_up_after_the_last_try(
    service: ConversationService,
    clock: Clock,
    customer: Customer,
    receiver: WebhookReceiver,
    http: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    await register(service.writer, clock, receiver.url, "detractor.recorded")
    receiver.statuses = [500] * 10
    await detractor(customer)
    assert await notifier(service.writer, clock).scan() == 1
    sender = Dispatcher(
        writer=service.writer, clock=clock, http=http, backoff=Backoff(max_attempts=3)
    )
    for _ in range(6):
        await sender.run_once()
        clock.advance(hours=1)
    assert len(receiver.received) == 3
    (job,) = await rows(sessions, Dispatch)
    assert job.state == "failed"
    assert job.last_status == "gave up after 3 tries: HTTP 500"
    clock.advance(days=29)
    assert await sender.prune() == 0  # still listed on the page
    clock.advance(days=2)
    assert await sender.prune() == 1
    assert await rows(sessions, Dispatch) == []
    body = receiver.received[0].json()
    assert body["event"] == "detractor.recorded"
    assert body["data"]["score"] == 2 and body["data"]["scale"] == [0, 10]


async def test_a_call_held_by_a_dead_sender_is_made_after_its_lease(
    service: ConversationService,
    clock: Clock,
    customer: Customer,
    receiver: WebhookReceiver,
    http: httpx.AsyncClient,
) -> None:
    await register(service.writer, clock, receiver.url, "escalation.opened")
    await detractor(customer)
    await notifier(service.writer, clock).scan()
    async with service.writer.transaction() as session:  # a sender that then dies
        (dispatch_id,) = await dispatches.due(
            session=session, now=clock(), lease=timedelta(seconds=60)
        )
        assert await dispatches.claim(
            session=session, dispatch_id=dispatch_id, now=clock(), lease=timedelta(seconds=60)
        )
    alive = Dispatcher(writer=service.writer, clock=clock, http=http)
    clock.advance(seconds=59)
    assert await alive.run_once() == 0 and receiver.received == []
    clock.advance(seconds=2)
    assert await alive.run_once() == 1 and len(receiver.received) == 1


async def test_two_processes_announce_and_deliver_everything_once(
    registry: FlowRegistry,
    clock: Clock,
    db_url: str,
    receiver: WebhookReceiver,
    http: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    robot = FakeWeComRobot()
    await robot.start()
    try:
        writers = [Writer(create_sessions(e)) for e in engines]
        services = [
            ConversationService(sessions=w.sessions, registry=registry, clock=clock)
            for w in writers
        ]
        await register(writers[0], clock, receiver.url, "escalation.opened", "detractor.recorded")
        pairs = [
            (
                notifier(w, clock, wecom=True),
                Dispatcher(writer=w, clock=clock, http=http, wecom_url=robot.url),
            )
            for w in writers
        ]
        for round_ in range(3):
            await asyncio.gather(
                *(
                    detractor(Customer(services[(round_ + i) % 2], f"c{round_}-{i}"))
                    for i in range(4)
                )
            )
            await asyncio.gather(*(n.scan() for n, _ in pairs), *(n.scan() for n, _ in pairs))
            await asyncio.gather(*(d.run_once() for _, d in pairs))
        keys = [r.headers["X-Cxbot-Delivery"] for r in receiver.received]
        assert len(keys) == len(set(keys)) == 24  # 12 detractors, 12 cases
        assert len(robot.messages) == 12
        assert all(job.state == "sent" for job in await rows(sessions, Dispatch))
    finally:
        await robot.stop()
        for engine in engines:
            await engine.dispose()


async def test_new_and_overdue_cases_reach_the_telegram_group_and_wecom_once(
    service: ConversationService,
    clock: Clock,
    customer: Customer,
    http: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    fake = FakeTelegram(token="123:notices")
    robot = FakeWeComRobot()
    await fake.start()
    await robot.start()
    try:
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            telegram = TelegramSender(bot=bot)
            watch = notifier(service.writer, clock, telegram_chat_id=GROUP, wecom=True)
            calls = Dispatcher(
                writer=service.writer,
                clock=clock,
                http=http,
                telegram=lambda: telegram,
                wecom_url=robot.url,
            )
            await detractor(customer)
            (case,) = await rows(sessions, Escalation)
            robot.errcodes = [45009]  # WeCom's rate limit: tried again a minute later
            await watch.scan()
            await calls.run_once()
            link = f"https://cx.example.com/admin/escalations/{case.id}"
            assert fake.texts(int(GROUP)) == [
                f"新工单 #{case.id}（高）：detractor\n"
                f"回复截止 {case.due_at:%Y-%m-%d %H:%M} UTC\n{link}"
            ]
            assert robot.messages == []
            clock.advance(seconds=61)
            await watch.scan()
            await calls.run_once()
            assert len(robot.messages) == 1 and f"({link})" in robot.messages[0]

            clock.advance(seconds=SLA["high"].total_seconds() - 62)  # not yet due
            assert await watch.scan() == 0
            clock.advance(seconds=2)
            assert await watch.scan() == 2  # overdue: Telegram and WeCom
            assert await watch.scan() == 0
            await calls.run_once()
            assert fake.texts(int(GROUP))[1].startswith(f"工单 #{case.id} 已超时（高）")
            assert "尚无客服回复" in fake.texts(int(GROUP))[1]
            assert len(robot.messages) == 2 and "warning" in robot.messages[1]
            clock.advance(hours=3)
            await watch.scan()
            await calls.run_once()
            assert len(fake.texts(int(GROUP))) == 2 and len(robot.messages) == 2
    finally:
        await fake.stop()
        await robot.stop()


async def test_an_answered_case_is_not_overdue_and_english_notices_read_in_english(
    service: ConversationService,
    clock: Clock,
    customer: Customer,
    http: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    robot = FakeWeComRobot()
    await robot.start()
    try:
        watch = notifier(service.writer, clock, wecom=True, language="en")
        calls = Dispatcher(writer=service.writer, clock=clock, http=http, wecom_url=robot.url)
        await detractor(customer)
        await watch.scan()
        await calls.run_once()
        assert robot.messages[0].startswith('<font color="info">**New case #1 (high): detractor')
        async with service.writer.transaction() as session:
            (case,) = (await session.exec(select(Escalation))).all()
            case.first_reply_at, case.status = clock(), "waiting"
            session.add(case)
        clock.advance(hours=2)
        assert await watch.scan() == 0
    finally:
        await robot.stop()


async def test_a_reason_cannot_put_a_link_into_the_wecom_markdown(
    service: ConversationService, clock: Clock
) -> None:
    from cxbot.notices import agent_texts

    case = Escalation(
        id=7, conversation_id=1, customer_id=1, reason="[pay here](https://evil.example)<b>",
        priority="urgent", due_at=clock(),
    )
    plain, markdown = agent_texts("opened", case, NoticeConfig(case_url=CASES, language="en"))
    assert "evil.example" in plain  # plain text on Telegram: shown as written, no link
    assert "](" not in markdown.split("\n")[0] and "<b>" not in markdown
    assert markdown.endswith("[Open the case](https://cx.example.com/admin/escalations/7)")


async def test_a_sender_that_breaks_unexpectedly_is_retried_and_the_round_goes_on(
    service: ConversationService,
    clock: Clock,
    customer: Customer,
    receiver: WebhookReceiver,
    http: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    await register(service.writer, clock, receiver.url, "escalation.opened")

    class Broken:
        channel, route, batch, window, quota = "telegram", "bot_api", False, None, None

        def unreachable(self, address: str) -> str | None:
            return None

        async def send(self, recipient: object, messages: object) -> str | None:
            raise KeyError("a bug")

    broken = Broken()
    await detractor(customer)
    await notifier(service.writer, clock, telegram_chat_id=GROUP).scan()
    calls = Dispatcher(writer=service.writer, clock=clock, http=http, telegram=lambda: broken)  # type: ignore[arg-type,return-value]
    assert await calls.run_once() == 1  # the webhook still went out
    jobs = {job.target: job for job in await rows(sessions, Dispatch)}
    assert (jobs["telegram"].state, jobs["telegram"].last_status) == (
        "pending",
        "internal error: KeyError",
    )
    assert len(receiver.received) == 1
