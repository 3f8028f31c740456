"""Making the queued calls (`storage.dispatches`): webhook deliveries, signed; notices to the
agents' Telegram group (through the Telegram channel's sender) and WeCom robot.

    due ──► claim (conditional UPDATE, a lease) ──► call ──► sent | failed | pending again

A call is made by one live sender at a time; a failure is retried with exponential backoff
(a `Retry-After` is honoured) until `max_attempts`, then the row is `failed`. A sender that
dies mid-call loses its claim after the lease, and another process makes the call again —
the one window where a receiver can get a delivery twice, which is why each carries a
stable `X-Cxbot-Delivery` id to deduplicate on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from bot.channel import Recipient, RetryLater, Sender, Undeliverable
from cxbot.signatures import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from flows.state import Outbound
from storage import dispatches
from storage.loop_tables import Dispatch, WebhookEndpoint
from storage.outages import unavailable
from storage.writes import Writer

log = logging.getLogger(__name__)

USER_AGENT = "cxbot-webhooks/1"
KEPT = timedelta(days=30)
"""How long finished calls stay listed (then pruned, about once an hour)."""
PRUNE_EVERY = timedelta(hours=1)
WECOM_RATE_LIMITED = 45009
"""WeCom's errcode for "api freq out of limit" (a robot takes 20 messages a minute)."""


@dataclass(frozen=True)
class Backoff:
    """When to try again: `first` after the first failure, doubling up to `longest`."""

    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(hours=1)
    max_attempts: int = 8

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed try."""
        wait: timedelta = self.first * (2 ** max(attempts - 1, 0))
        return min(wait, self.longest)


class Dispatcher:
    """Makes due calls; see the module doc."""

    def __init__(
        self,
        *,
        writer: Writer,
        clock: Callable[[], datetime],
        http: httpx.AsyncClient,
        lease: timedelta = timedelta(seconds=60),
        backoff: Backoff = Backoff(),
        telegram: Callable[[], Sender | None] = lambda: None,
        wecom_url: str | None = None,
    ) -> None:
        self.writer = writer
        self.clock = clock
        self.http = http
        self.lease = lease
        self.backoff = backoff
        self.telegram = telegram
        self.wecom_url = wecom_url
        self._pruned_at: datetime | None = None

    async def prune(self) -> int:
        """Forget calls finished more than `KEPT` ago, at most once per `PRUNE_EVERY`."""
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return 0
        self._pruned_at = now
        async with self.writer.transaction() as session:
            return await dispatches.prune(session=session, before=now - KEPT)

    async def run_once(self, limit: int = 50) -> int:
        """Make the calls that are due; how many succeeded."""
        async with self.writer.transaction() as session:
            ids = await dispatches.due(
                session=session, now=self.clock(), lease=self.lease, limit=limit
            )
        done = 0
        for dispatch_id in ids:
            done += await self._one(dispatch_id)
        return done

    async def _one(self, dispatch_id: int) -> bool:
        since = self.clock()
        async with self.writer.transaction() as session:
            job = await dispatches.claim(
                session=session, dispatch_id=dispatch_id, now=since, lease=self.lease
            )
            endpoint = None
            if job is not None and job.endpoint_id is not None:
                endpoint = await session.get(WebhookEndpoint, job.endpoint_id)
        if job is None:
            return False  # another sender has it
        state, status, retry_at = "sent", "", None
        try:
            status = await self._call(job, endpoint)
        except RetryLater as exc:
            status = str(exc)[:200]
            if job.attempts >= self.backoff.max_attempts:
                state, status = "failed", f"gave up after {job.attempts} tries: {status}"
            else:
                wait = max(self.backoff.delay(job.attempts), timedelta(seconds=exc.seconds))
                state, retry_at = "pending", self.clock() + wait
        except Undeliverable as exc:
            state, status = "failed", str(exc)[:200]
        except Exception as exc:  # a bug: logged in full, retried like a failure
            log.exception("%s call %s failed unexpectedly", job.target, job.id)
            status = f"internal error: {type(exc).__name__}"
            if job.attempts >= self.backoff.max_attempts:
                state = "failed"
            else:
                state, retry_at = "pending", self.clock() + self.backoff.delay(job.attempts)
        if state != "sent":
            log.warning("%s %s for %s: %s", job.target, state, job.event, status)
        async with self.writer.transaction() as session:
            kept = await dispatches.finish(
                session=session,
                job=job,
                since=since,
                now=self.clock(),
                state=state,
                status=status,
                retry_at=retry_at,
            )
        if not kept:
            log.warning("%s call %d was taken over by another sender", job.target, job.id)
        return state == "sent"

    async def _call(self, job: Dispatch, endpoint: WebhookEndpoint | None) -> str:
        """Make the call; its status on success. Raises RetryLater or Undeliverable."""
        if job.target == "telegram":
            return await self._telegram(job)
        if job.target == "wecom":
            return await self._wecom(job)
        if endpoint is None or endpoint.removed_at is not None:
            raise Undeliverable("the endpoint was removed")
        return await self._webhook(job, endpoint)

    async def _webhook(self, job: Dispatch, endpoint: WebhookEndpoint) -> str:
        body = json.dumps(job.payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: job.event,
            DELIVERY_HEADER: job.key,
            SIGNATURE_HEADER: sign(endpoint.secret, body, int(self.clock().timestamp())),
        }
        try:
            response = await self.http.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise RetryLater(type(exc).__name__, 0) from None  # its text may hold the URL
        if response.is_success:
            return str(response.status_code)
        raise RetryLater(f"HTTP {response.status_code}", _retry_after(response))

    async def _wecom(self, job: Dispatch) -> str:
        if not self.wecom_url:
            raise Undeliverable("no WeCom robot webhook is set")
        try:
            response = await self.http.post(self.wecom_url, json=job.payload)
        except httpx.HTTPError as exc:
            raise RetryLater(type(exc).__name__, 0) from None
        if not response.is_success:
            raise RetryLater(f"HTTP {response.status_code}", _retry_after(response))
        try:
            answer = response.json()
            code = int(answer.get("errcode", -1))
        except (ValueError, AttributeError, TypeError):
            raise RetryLater("WeCom answered something other than JSON", 0) from None
        if code == 0:
            return "ok"
        message = str(answer.get("errmsg", ""))[:120]
        if code == WECOM_RATE_LIMITED or code == -1:  # -1: the system is busy
            raise RetryLater(f"WeCom errcode {code}: {message}", 60)
        raise Undeliverable(f"WeCom errcode {code}: {message}")

    async def _telegram(self, job: Dispatch) -> str:
        sender = self.telegram()
        if sender is None:
            raise RetryLater("the Telegram channel is not mounted", 60)
        chat_id = str(job.payload.get("chat_id", ""))
        problem = sender.unreachable(chat_id)
        if problem is not None:
            raise Undeliverable(problem)
        text = str(job.payload.get("text", ""))
        sent = await sender.send(Recipient("telegram", chat_id), [Outbound(text=text)])
        return f"sent {sent}" if sent else "sent"

    async def run(self, period: float, stop: asyncio.Event, before: Callable[[], object]) -> None:
        """Every `period` seconds until `stop`: `before()` (the notifier's scan), then the
        due calls; an outage is one log line, the next round catches up."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)
            if stop.is_set():
                return
            try:
                scanned = before()
                if asyncio.iscoroutine(scanned):
                    await scanned
                await self.run_once()
                await self.prune()
            except Exception as exc:
                reason = unavailable(exc)
                if reason is not None:
                    log.warning("loop notices skipped: database unavailable (%s)", reason)
                else:
                    log.exception("loop notices failed")


def _retry_after(response: httpx.Response) -> float:
    """Seconds from a `Retry-After` header in seconds (0 when absent or a date)."""
    value = response.headers.get("retry-after", "").strip()
    return min(float(value), 3600.0) if value.isdigit() else 0.0
