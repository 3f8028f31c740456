"""A customer's messages leave in the order they were stored, whoever sends them.

A reply (or an agent's message) stored while an earlier message to the same customer is
still unsent — waiting for a platform's retry, or being sent by another process — is queued
behind it, not sent at once: the sender that finishes the earlier one sends it next, or the
sweeper once the earlier one is done. Real service, database and outbox; the platform is
the recording sender of test_delivery.
"""

from __future__ import annotations

import asyncio

from bot.channel import RetryLater, Undeliverable
from cxbot.conversations import ConversationService
from tests.conftest import Clock, Customer
from tests.cxbot.test_delivery import CHANNEL, Platform, delivery_for, states


def texts(reply: object) -> list[str]:
    return [m.text for _, m in reply.messages]  # type: ignore[attr-defined]


async def test_a_reply_waits_behind_an_earlier_one_the_platform_deferred(
    customer: Customer, service: ConversationService, clock: Clock
) -> None:
    platform = Platform(failures=[RetryLater("429: slow down", 30)])
    delivery = delivery_for(service, platform)
    first = await customer.starts("nps", "en")
    assert (await delivery.deliver(first)).deferred
    second = await customer.says("9")  # while the question waits for its retry
    report = await delivery.deliver(second)
    assert report.sent == () and platform.received == []  # not before the question
    assert await delivery.sweep() == 0  # the question is not due: nothing overtakes it
    clock.advance(seconds=31)
    assert await delivery.sweep() == len(first.messages) + len(second.messages)
    assert platform.received == texts(first) + texts(second)


async def test_a_reply_stored_while_another_process_sends_goes_out_after_it(
    customer: Customer, service: ConversationService
) -> None:
    platform = Platform(stall=asyncio.Event())
    server_a, server_b = delivery_for(service, platform), delivery_for(service, platform)
    first = await customer.starts("nps", "en")
    sending = asyncio.create_task(server_a.deliver(first))
    await platform.stalled.wait()  # server A is sending the question
    second = await customer.says("9")  # handled by server B meanwhile
    assert (await server_b.deliver(second)).sent == ()
    assert await server_b.sweep() == 0  # A's claim is live: B's sweeper waits too
    platform.stall.set()
    report = await sending  # A sends its own, then what queued behind it
    assert platform.received == texts(first) + texts(second)
    assert set(report.sent) == {i for i, _ in first.messages + second.messages}
    assert [state for state, _ in await states(service.sessions)] == ["sent"] * len(
        platform.received
    )
    assert await server_b.sweep() == 0  # nothing left, nothing twice


async def test_a_failed_message_does_not_hold_up_the_ones_behind_it(
    customer: Customer, service: ConversationService
) -> None:
    platform = Platform(stall=asyncio.Event(), failures=[Undeliverable("message too long")])
    delivery = delivery_for(service, platform)
    first = await customer.starts("nps", "en")
    sending = asyncio.create_task(delivery.deliver(first))
    await platform.stalled.wait()
    second = await customer.says("9")
    platform.stall.set()
    report = await sending
    assert report.failed == tuple(i for i, _ in first.messages)
    assert platform.received == texts(second)


async def test_an_agent_message_queues_behind_a_reply_being_sent(
    customer: Customer, service: ConversationService
) -> None:
    platform = Platform(stall=asyncio.Event())
    bot, agent = delivery_for(service, platform), delivery_for(service, platform)
    first = await customer.starts("nps", "en")
    sending = asyncio.create_task(bot.deliver(first))
    await platform.stalled.wait()
    queued = await agent.send_text(channel=CHANNEL, customer_ref="alice", text="Hi, Amy here")
    assert queued.deferred and not queued.sent
    platform.stall.set()
    await sending
    assert platform.received == [*texts(first), "Hi, Amy here"]
