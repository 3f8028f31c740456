"""The one delivery path: claim -> send -> mark, leases kept by a live sender and taken over
from a dead one, messages handed back to the queue and swept, given up after 48 hours.

The platform is a recording sender (the remote side); everything else is real: the
service, the database, the outbox queries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.channel import Recipient, RetryLater, Undeliverable
from cxbot.conversations import ConversationService
from cxbot.delivery import Delivery
from flows.state import Outbound
from storage.database import Sessions
from storage.models import Message
from storage.writes import Writer
from tests.conftest import Clock, Customer

CHANNEL = "test"


@dataclass
class Platform:
    """A platform that records what reached it; it can fail or stall on demand."""

    channel: str = CHANNEL
    route: str = "test_api"
    batch: bool = False
    window: timedelta | None = None
    quota: int | None = None
    received: list[str] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    stall: asyncio.Event | None = None
    stalled: asyncio.Event = field(default_factory=asyncio.Event)

    def unreachable(self, address: str) -> str | None:
        return "not a test customer" if address == "unreachable" else None

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> str | None:
        if self.stall is not None:
            self.stalled.set()
            await self.stall.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.received.extend(m.text for m in messages)
        return f"{recipient.address}:{len(self.received)}"


def delivery_for(service: ConversationService, platform: Platform) -> Delivery:
    """One app process's delivery path (its own writer, the service's clock and lease)."""
    delivery = Delivery(writer=Writer(service.sessions), clock=service.clock, lease=service.lease)
    delivery.register(platform)
    return delivery


async def states(sessions: Sessions) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        rows = (
            await session.exec(
                select(Message).where(Message.direction == "out").order_by(col(Message.id))
            )
        ).all()
    return [(row.delivery_state, row.error) for row in rows]


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def delivery(service: ConversationService, platform: Platform) -> Delivery:
    return delivery_for(service, platform)


async def test_a_reply_is_sent_once_and_marked(
    customer: Customer, delivery: Delivery, platform: Platform, sessions: Sessions
) -> None:
    reply = await customer.starts("nps", "en")
    report = await delivery.deliver(reply)
    assert report.complete and report.sent == tuple(i for i, _ in reply.messages)
    assert platform.received == [m.text for _, m in reply.messages]
    assert await delivery.deliver(reply) == report.__class__()  # held no more: nothing twice
    assert await delivery.sweep() == 0
    assert platform.received == [m.text for _, m in reply.messages]
    async with sessions() as session:
        row = (await session.exec(select(Message).where(Message.direction == "out"))).one()
    assert (row.delivery_state, row.payload["via"], row.platform_message_id) == (
        "sent",
        "test_api",
        "alice:1",
    )


async def test_a_platform_that_asks_to_wait_gets_the_message_later_from_the_sweeper(
    customer: Customer,
    delivery: Delivery,
    platform: Platform,
    sessions: Sessions,
    clock: Clock,
) -> None:
    platform.failures.append(RetryLater("429: slow down", 30))
    reply = await customer.starts("nps", "en")
    report = await delivery.deliver(reply)
    assert report.deferred and not report.sent and platform.received == []
    assert await states(sessions) == [("pending", "429: slow down")]
    clock.advance(seconds=29)
    assert await delivery.sweep() == 0  # not before the platform's wait is over
    clock.advance(seconds=2)
    assert await delivery.sweep() == 1
    assert platform.received == [reply.messages[0][1].text]
    assert await states(sessions) == [("sent", None)]


async def test_an_undeliverable_message_fails_and_takes_the_rest_of_the_reply_with_it(
    customer: Customer, delivery: Delivery, platform: Platform, sessions: Sessions
) -> None:
    await delivery.deliver(await customer.starts("nps", "en"))
    await delivery.deliver(await customer.says("9"))  # the reason question
    before = list(platform.received)
    reply = await customer.says("/stop")  # one closing message at least
    platform.failures.append(Undeliverable("blocked by the user"))
    report = await delivery.deliver(reply)
    assert report.failed == tuple(i for i, _ in reply.messages) and platform.received == before
    assert (await states(sessions))[-1] == ("failed", "blocked by the user")
    assert await delivery.sweep() == 0  # failed for good: never retried


async def test_a_dead_senders_messages_are_taken_over_once_its_lease_runs_out(
    customer: Customer, service: ConversationService, platform: Platform, clock: Clock
) -> None:
    reply = await customer.starts("nps", "en")  # held by a process that dies now
    other = delivery_for(service, platform)  # another process
    assert await other.sweep() == 0  # the lease still holds
    clock.advance(seconds=service.lease.total_seconds() + 1)
    results = await asyncio.gather(other.sweep(), delivery_for(service, platform).sweep())
    assert sorted(results) == [0, 1]  # two sweepers: one sends
    assert platform.received == [reply.messages[0][1].text]


async def test_a_slow_sender_whose_claim_was_taken_over_sends_nothing(
    customer: Customer, service: ConversationService, platform: Platform, clock: Clock
) -> None:
    reply = await customer.starts("nps", "en")
    clock.advance(seconds=service.lease.total_seconds() + 1)  # the first sender stalled
    assert await delivery_for(service, platform).sweep() == 1
    late = await delivery_for(service, platform).deliver(reply)  # ... and wakes up
    assert late.sent == () and late.failed == ()
    assert platform.received == [reply.messages[0][1].text]


async def test_a_live_sender_renews_its_lease_while_it_waits(
    sessions: Sessions, registry_dir_clock: tuple[ConversationService, Clock]
) -> None:
    service, clock = registry_dir_clock
    platform = Platform(stall=asyncio.Event())
    reply = await Customer(service, "c-slow").starts("nps", "en")
    sending = asyncio.create_task(delivery_for(service, platform).deliver(reply))
    await platform.stalled.wait()  # the send is under way (a long 429 wait, say)
    clock.advance(seconds=0.9)  # most of the 1 s lease gone ...
    async with asyncio.timeout(10):
        # ... the heartbeat renews it (polling the database: no event crosses that line)
        while not await _claimed_at_least(sessions, clock):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    clock.advance(seconds=0.9)  # 1.8 s after the claim, 0.9 s after the renewal
    other = delivery_for(service, Platform())
    assert await other.sweep() == 0  # not taken from a live sender
    platform.stall.set()
    report = await sending
    assert report.complete and platform.received == [reply.messages[0][1].text]


async def _claimed_at_least(sessions: Sessions, clock: Clock) -> bool:
    async with sessions() as session:
        row = (await session.exec(select(Message).where(Message.direction == "out"))).one()
    return row.claimed_at is not None and row.claimed_at >= clock.now


@pytest.fixture
def registry_dir_clock(
    sessions: Sessions, service: ConversationService, clock: Clock
) -> tuple[ConversationService, Clock]:
    """A service whose leases last one second (so the heartbeat beats every third of one)."""
    return (
        ConversationService(
            sessions=sessions,
            registry=service.registry,
            clock=clock,
            lease=timedelta(seconds=1),
        ),
        clock,
    )


async def test_messages_undelivered_for_48_hours_are_given_up(
    customer: Customer, delivery: Delivery, platform: Platform, sessions: Sessions, clock: Clock
) -> None:
    platform.failures.append(RetryLater("network down", 60))
    await delivery.deliver(await customer.starts("nps", "en"))
    clock.advance(hours=49)
    assert await delivery.sweep() == 0
    assert platform.received == []
    [(state, error)] = await states(sessions)
    assert state == "failed" and error is not None and "not delivered within" in error


async def test_an_agent_message_is_stored_and_delivered(
    customer: Customer, delivery: Delivery, platform: Platform
) -> None:
    await delivery.deliver(await customer.starts("nps", "en"))
    report = await delivery.send_text(channel=CHANNEL, customer_ref="alice", text="Hello from Amy")
    assert report.complete and platform.received[-1] == "Hello from Amy"
    unknown = await delivery.send_text(channel=CHANNEL, customer_ref="nobody", text="Hi")
    assert unknown.error == "no test customer with this id" and not unknown.sent


async def test_a_failed_renewal_does_not_stop_the_heartbeat(
    sessions: Sessions,
    registry_dir_clock: tuple[ConversationService, Clock],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.exc import OperationalError

    from storage import outbox

    service, clock = registry_dir_clock
    real_renew, failures = outbox.renew, [OperationalError("UPDATE", {}, Exception("timeout"))]

    async def flaky_renew(**kw: object) -> list[int]:
        if failures:
            raise failures.pop()
        return await real_renew(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "renew", flaky_renew)
    platform = Platform(stall=asyncio.Event())
    reply = await Customer(service, "c-flaky").starts("nps", "en")
    sending = asyncio.create_task(delivery_for(service, platform).deliver(reply))
    await platform.stalled.wait()
    clock.advance(seconds=0.9)
    async with asyncio.timeout(10):
        # the first beat fails (the database was slow); a later one renews the claim
        while not await _claimed_at_least(sessions, clock):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert failures == []
    clock.advance(seconds=0.9)
    assert await delivery_for(service, Platform()).sweep() == 0  # still held: not sent twice
    platform.stall.set()
    assert (await sending).complete and platform.received == [reply.messages[0][1].text]
