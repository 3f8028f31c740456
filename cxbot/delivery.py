"""The one delivery path: everything that reaches a customer goes claim → send → mark here.

Outbound messages are transcript rows (the outbox, `storage.outbox`). The conversation
service stores a reply's messages already claimed by the process that will send them (one
transaction for the message and its claim); this module sends them through the channel's
`Sender` and records the outcome. A sender holds its claim as a lease that a heartbeat
renews while it works (pacing, a 429 wait); when a process dies the lease runs out within
`lease` and the message is sent by the platform's redelivery of the update or by the
sweeper of any live process — never by two live senders.

    reply ──► deliver() ──► Sender.send() ──► mark sent / failed / deferred
    sweep()  (every few seconds): pending-and-due, or held by a dead sender ──► deliver

Replies (now), the integrators' API, and tomorrow agent replies, campaigns, reminders and
notifications all use it: `send_text()` stores a message and delivers it.

A crash between the platform accepting a message and the row being marked sent is the one
window where a message can be sent twice (platforms have no idempotent send); it is as
short as one database write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta

from bot.channel import (
    DeliveryError,
    Recipient,
    Reply,
    Report,
    RetryLater,
    Sender,
    Undeliverable,
    pseudonym,
)
from cxbot.envelopes import outbound_from_row, outbound_payload
from flows.state import Outbound
from storage import outbox, queries
from storage.models import Message
from storage.outages import unavailable
from storage.writes import Writer

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)
"""How long a claim holds without renewal; a live sender renews it every third of that."""
MAX_AGE = timedelta(hours=48)
"""Messages still undelivered after this long are given up (failed)."""
MAX_ATTEMPTS = 8
"""Claims per message before it is given up."""
FINISHED_KEPT = 10_000
"""How many delivered replies' messages a process remembers (against delivering one twice)."""


class _Hold:
    """The messages a sender holds and since when its claim runs."""

    def __init__(self, messages: Sequence[tuple[int, Outbound]], since: datetime) -> None:
        self.messages = list(messages)
        self.since = since
        self.renewing = asyncio.Lock()
        """The heartbeat and a check before a send never renew at once (each renewal is
        conditional on the last one's time)."""
        self.following: list[Message] = []
        """Messages to the same customer queued behind these, claimed when these were done."""
        self.following_since: datetime | None = None

    def ids(self) -> list[int]:
        return [message_id for message_id, _ in self.messages]

    def outbound(self) -> list[Outbound]:
        return [message for _, message in self.messages]

    def keep(self, ids: Sequence[int], since: datetime) -> None:
        self.messages = [m for m in self.messages if m[0] in ids]
        self.since = since

    def drop(self, message_id: int) -> None:
        self.messages = [m for m in self.messages if m[0] != message_id]


class Delivery:
    """Sends stored outbound messages through the channels' senders; see the module doc."""

    def __init__(
        self,
        *,
        writer: Writer,
        clock: Callable[[], datetime],
        lease: timedelta = LEASE,
        max_age: timedelta = MAX_AGE,
    ) -> None:
        self.writer = writer
        self.clock = clock
        self.lease = lease
        self.max_age = max_age
        self.senders: dict[str, Sender] = {}
        self.observer: Callable[[str, Report], None] | None = None
        """Told what became of each delivery, by channel (the metrics, when they are on)."""
        self._finished: OrderedDict[int, datetime | None] = OrderedDict()
        """Messages this process delivered from a reply, with the claim it held."""

    def register(self, sender: Sender) -> None:
        """Deliver this channel's messages through `sender`."""
        self.senders[sender.channel] = sender

    # -- what callers use ---------------------------------------------------------------

    async def deliver(self, reply: Reply) -> Report:
        """Send the messages a reply holds for this caller (claimed when it was stored)."""
        since = reply.held_since
        held = [m for m in reply.to_send() if self._finished.get(m[0]) != since]
        if not held or since is None:
            return Report()  # nothing held by this caller (delivered inline, or done already)
        if reply.recipient is None:
            report = await self._fail([i for i, _ in held], "no recipient")
        else:
            report = await self._deliver(reply.recipient, _Hold(held, since))
        for message_id, _ in held:  # a second call with the same reply sends nothing again
            self._finished[message_id] = since
            self._finished.move_to_end(message_id)
        while len(self._finished) > FINISHED_KEPT:
            self._finished.popitem(last=False)
        return report

    async def delivered_inline(self, message_ids: Sequence[int], *, via: str) -> None:
        """Record held messages as delivered in the caller's own HTTP response."""
        if message_ids:
            async with self.writer.transaction() as session:
                await outbox.mark_sent(
                    session=session, message_ids=message_ids, at=self.clock(), via=via
                )

    async def send_text(
        self,
        *,
        channel: str,
        customer_ref: str,
        text: str,
        author: str = "agent",
        conversation_id: int | None = None,
    ) -> Report:
        """Store `text` as a message to a known customer and deliver it (agent replies,
        notifications, campaigns)."""
        return await self.send_message(
            channel=channel,
            customer_ref=customer_ref,
            message=Outbound(text),
            author=author,
            conversation_id=conversation_id,
        )

    async def send_message(
        self,
        *,
        channel: str,
        customer_ref: str,
        message: Outbound,
        author: str = "agent",
        conversation_id: int | None = None,
    ) -> Report:
        """Store a message (buttons and hint too) to a known customer and deliver it."""
        text = message.text
        now = self.clock()
        async with self.writer.transaction() as session:
            customer = await queries.find_customer(
                session=session, channel=channel, external_id=customer_ref
            )
            if customer is None or customer.id is None:
                return Report(error=f"no {channel} customer with this id")
            if conversation_id is None:
                running = await queries.open_conversation(session=session, customer_id=customer.id)
                conversation_id = running.id if running else None
            queued = await outbox.unsent_to(session=session, customer_id=customer.id)
            row = queries.add_message(
                session=session,
                customer_id=customer.id,
                conversation_id=conversation_id,
                channel=channel,
                direction="out",
                author=author,
                text=text,
                payload=outbound_payload(message) if message.buttons or message.hint else None,
                delivery_state="pending" if queued else "sending",
            )
            row.created_at = now
            if not queued:
                row.claimed_at, row.attempts = now, 1
            await session.flush()
            assert row.id is not None
            if queued:  # sent right after the earlier messages, by whoever sends those
                return Report(deferred=(row.id,), error="queued behind earlier messages")
            recipient = Recipient(channel, customer_ref, customer.last_inbound_at)
            hold = _Hold([(row.id, outbound_from_row(row))], now)
        return await self._deliver(recipient, hold)

    async def sends_left(self, *, channel: str, customer_id: int, since: datetime) -> int | None:
        """How many more sends the channel's per-customer-message quota allows since the
        customer's last message at `since` (None: the channel has no quota)."""
        sender = self.senders.get(channel)
        if sender is None or sender.quota is None:
            return None
        async with self.writer.sessions() as session:
            used = await outbox.sends_since(
                session=session, customer_id=customer_id, since=since, excluding=()
            )
        return max(0, sender.quota - used)

    async def sweep(self) -> int:
        """Deliver what is due: deferred messages and those whose sender died; how many
        were sent."""
        if not self.senders:
            return 0
        now = self.clock()
        channels = list(self.senders)
        async with self.writer.transaction() as session:
            given_up = await outbox.expire(
                session=session,
                channels=channels,
                before=now - self.max_age,
                error=f"not delivered within {self.max_age}",
            )
            rows = await outbox.due(
                session=session,
                channels=channels,
                now=now,
                lease=self.lease,
                since=now - self.max_age,
            )
        if given_up:
            log.warning("gave up %d messages older than %s", given_up, self.max_age)
        sent = 0
        for customer_id, group in _by_customer(rows).items():
            sent += len((await self._sweep_one(customer_id, group)).sent)
        return sent

    async def run(self, period: float, stop: asyncio.Event) -> None:
        """Sweep every `period` seconds until `stop` is set (a sweep under way finishes:
        cancelling one mid-query would strand the database driver's thread)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)
            if stop.is_set():
                return
            try:
                sent = await self.sweep()
                if sent:
                    log.info("delivered %d queued messages", sent)
            except Exception as exc:
                reason = unavailable(exc)
                if reason is not None:  # an outage: one line, no traceback; the next sweep
                    log.warning("delivery sweep skipped: database unavailable (%s)", reason)
                else:
                    log.exception("delivery sweep failed")

    # -- the path -----------------------------------------------------------------------

    async def _sweep_one(self, customer_id: int, rows: Sequence[Message]) -> Report:
        now = self.clock()
        async with self.writer.transaction() as session:
            ids = await outbox.claim(
                session=session,
                message_ids=[row.id for row in rows if row.id is not None],
                now=now,
                lease=self.lease,
            )
            people = await outbox.recipients(session=session, customer_ids=[customer_id])
        customer = people.get(customer_id)
        held = [(row.id, outbound_from_row(row)) for row in rows if row.id in ids]
        if not held:
            return Report()
        tooold = [row.id for row in rows if row.id in ids and row.attempts >= MAX_ATTEMPTS]
        if tooold:
            return await self._fail([i for i, _ in held], f"gave up after {MAX_ATTEMPTS} tries")
        if customer is None:
            return await self._fail([i for i, _ in held], "the customer is gone")
        recipient = Recipient(customer.channel, customer.external_id, customer.last_inbound_at)
        return await self._deliver(recipient, _Hold(held, now))

    async def _deliver(self, recipient: Recipient, hold: _Hold) -> Report:
        """Send what `hold` holds, then whatever was queued behind it for the customer."""
        report = await self._attempt(recipient, hold)
        if self.observer is not None:
            self.observer(recipient.channel, report)
        queue, since = hold.following, hold.following_since
        while queue and since is not None:
            rows = _one_reply(queue)  # a reply's messages go together; others one by one
            queue = queue[len(rows) :]
            step = _Hold([(row.id or 0, outbound_from_row(row)) for row in rows], since)
            more = await self._attempt(recipient, step)
            if more.deferred and queue:  # the rest waits behind the deferred one
                await self._defer([row.id or 0 for row in queue], "queued behind a retry", 0)
                queue = []
            if not queue:
                queue, since = step.following, step.following_since
            if self.observer is not None:
                self.observer(recipient.channel, more)
            report = Report(
                report.sent + more.sent,
                report.failed + more.failed,
                report.deferred + more.deferred,
                report.error or more.error,
            )
        return report

    async def _attempt(self, recipient: Recipient, hold: _Hold) -> Report:
        ids = hold.ids()
        sender = self.senders.get(recipient.channel)
        if sender is None:
            return await self._defer(ids, f"the {recipient.channel} channel is not mounted", 60)
        problem = sender.unreachable(recipient.address)
        if problem is not None:
            return await self._fail(ids, problem, hold)
        async with self._heartbeat(hold):
            if sender.window is not None or sender.quota is not None:
                refusal = await self._reserve(sender, recipient, ids)
                if refusal is not None:
                    log.warning("send to %s refused: %s", pseudonym(recipient.address), refusal)
                    return await self._fail(ids, f"refused: {refusal}", hold)
            if sender.batch:
                return await self._send_batch(sender, recipient, hold)
            return await self._send_each(sender, recipient, hold)

    async def _send_batch(self, sender: Sender, recipient: Recipient, hold: _Hold) -> Report:
        if not await self._still_held(hold):
            return Report()
        ids = hold.ids()
        try:
            platform_id = await sender.send(recipient, hold.outbound())
        except Exception as exc:
            return await self._failed_send(recipient, ids, exc, hold)
        await self._sent(ids, platform_id, sender.route, hold)
        return Report(sent=tuple(ids))

    async def _send_each(self, sender: Sender, recipient: Recipient, hold: _Hold) -> Report:
        sent: list[int] = []
        for message_id, message in list(hold.messages):
            if not await self._still_held(hold) or message_id not in hold.ids():
                break  # another sender took over (this one was too slow): it sends the rest
            try:
                platform_id = await sender.send(recipient, [message])
            except Exception as exc:
                rest = hold.ids()[hold.ids().index(message_id) :]
                report = await self._failed_send(recipient, rest, exc, hold)
                return Report(tuple(sent), report.failed, report.deferred, report.error)
            last = message_id == hold.ids()[-1]
            await self._sent([message_id], platform_id, sender.route, hold if last else None)
            hold.drop(message_id)
            sent.append(message_id)
        return Report(sent=tuple(sent))

    async def _still_held(self, hold: _Hold) -> bool:
        """Renew the claim when it is old enough that it might have been taken over; True
        while this sender still holds something."""
        now = self.clock()
        if now - hold.since >= self.lease / 2:
            await self._renew(hold, now)
        return bool(hold.messages)

    async def _renew(self, hold: _Hold, now: datetime) -> None:
        async with hold.renewing, self.writer.transaction() as session:
            kept = await outbox.renew(
                session=session, message_ids=hold.ids(), held_since=hold.since, now=now
            )
        lost = set(hold.ids()) - set(kept)
        if lost:
            log.warning("%d messages were taken over by another sender", len(lost))
        hold.keep(kept, now)

    async def _failed_send(
        self, recipient: Recipient, ids: list[int], exc: Exception, hold: _Hold
    ) -> Report:
        """Record why a send failed: the first message gets the error, later ones wait or
        fail with it (a reply's messages go out in order or not at all)."""
        error = str(exc)[:300]
        who = pseudonym(recipient.address)
        if isinstance(exc, Undeliverable):
            log.warning("%s message to %s not delivered: %s", recipient.channel, who, error)
            return await self._fail(ids, error, hold)
        seconds = exc.seconds if isinstance(exc, RetryLater) else 30.0
        if not isinstance(exc, DeliveryError):
            # the message may hold secrets or personal data: the type goes to the log
            error = f"internal error: {type(exc).__name__}"
            log.error("%s sender failed unexpectedly for %s: %s", recipient.channel, who, error)
        else:
            log.info("%s message to %s deferred %.0fs: %s", recipient.channel, who, seconds, error)
        return await self._defer(ids, error, seconds)

    async def _reserve(self, sender: Sender, recipient: Recipient, ids: list[int]) -> str | None:
        """Check the platform's window and quota with the customer locked, and reserve the
        send as one batch; None, or why not."""
        now = self.clock()
        async with self.writer.transaction() as session:
            found = await queries.lock_customer(
                session=session, channel=recipient.channel, external_id=recipient.address
            )
            last = found.last_inbound_at if found else None
            if found is None or found.id is None or last is None:
                return "the customer never wrote to us"
            if sender.window is not None and now - last > sender.window:
                hours = (now - last).total_seconds() / 3600
                return (
                    f"outside the {sender.window.total_seconds() / 3600:.0f}-hour window "
                    f"(last customer message {hours:.0f} hours ago)"
                )
            if sender.quota is not None:
                used = await outbox.sends_since(
                    session=session, customer_id=found.id, since=last, excluding=ids
                )
                if used >= sender.quota:
                    return (
                        f"quota used: {used} of {sender.quota} messages sent since the "
                        "customer's last message"
                    )
            await outbox.reserve_batch(
                session=session, message_ids=ids, batch=ids[0], via=sender.route
            )
        return None

    @contextlib.asynccontextmanager
    async def _heartbeat(self, hold: _Hold) -> AsyncIterator[None]:
        """Renew the lease while the body runs (a live sender keeps its claim)."""

        async def beat() -> None:
            while hold.messages:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                try:
                    await self._renew(hold, self.clock())
                except Exception as exc:  # a slow or absent database: beat again, or the
                    # lease runs out while the send waits and another sender sends it too
                    log.warning("renewing a send's claim failed (%s); trying again", exc_kind(exc))

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _sent(
        self, ids: Sequence[int], platform_id: str | None, via: str, hold: _Hold | None
    ) -> None:
        """Mark sent; when `hold` is done with this, claim what is queued behind it."""
        now = self.clock()
        async with self.writer.transaction() as session:
            await outbox.mark_sent(
                session=session, message_ids=ids, at=now, platform_message_id=platform_id, via=via
            )
            if hold is not None:
                hold.following = await outbox.next_in_line(
                    session=session, after=max(ids), now=now, lease=self.lease
                )
                hold.following_since = now

    async def _fail(self, ids: Sequence[int], error: str, hold: _Hold | None = None) -> Report:
        """Mark failed (a failed message holds nothing up: with `hold`, what is queued
        behind it is claimed to go next)."""
        now = self.clock()
        async with self.writer.transaction() as session:
            await outbox.mark_failed(session=session, message_ids=ids, error=error)
            if hold is not None and ids:
                hold.following = await outbox.next_in_line(
                    session=session, after=max(ids), now=now, lease=self.lease
                )
                hold.following_since = now
        return Report(failed=tuple(ids), error=error)

    async def _defer(self, ids: Sequence[int], error: str, seconds: float) -> Report:
        async with self.writer.transaction() as session:
            await outbox.defer(
                session=session,
                message_ids=ids,
                until=self.clock() + timedelta(seconds=seconds),
                error=error,
            )
        return Report(deferred=tuple(ids), error=error)


def exc_kind(exc: Exception) -> str:
    """What went wrong, without the message (it may quote SQL parameters)."""
    return unavailable(exc) or type(exc).__name__


def _one_reply(rows: Sequence[Message]) -> list[Message]:
    """The first message and those of the same reply right after it."""
    first = rows[0]
    group = [first]
    for row in rows[1:]:
        if first.reply_to_id is None or row.reply_to_id != first.reply_to_id:
            break
        group.append(row)
    return group


def _by_customer(rows: Sequence[Message]) -> dict[int, list[Message]]:
    groups: dict[int, list[Message]] = {}
    for row in rows:
        groups.setdefault(row.customer_id, []).append(row)
    return groups
