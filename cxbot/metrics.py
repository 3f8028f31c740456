"""Prometheus metrics at `/metrics`, for operators: inbound rate and latency per channel,
the outbound queue, send failures by platform error, database outages.

Off unless `CXBOT_METRICS` is on; with `CXBOT_METRICS_TOKEN` set, a scrape must send
`Authorization: Bearer <token>` (401 otherwise). Labels come from small fixed sets
(channel names, outcomes, error codes); no label or value ever carries a customer's id or
text. The counters live in the process; the queue gauges are read from the database at
scrape time (one grouped query, bounded in time), so they are the same whichever process
answers. With several uvicorn workers (`cxbot serve --workers N`) the counters of every
worker are added up through prometheus-client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, which `cxbot serve` sets to a fresh folder): a load balancer
sends each scrape to any one worker, and per-worker counters would jump between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bot.channel import Incoming, Reply, Report, Unavailable
from cxbot.metric_labels import channel_label, error_code, outage_reason, outcome_of
from cxbot.runtime import Runtime
from storage import outbox

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Handling latency buckets (seconds); a database outage's 503 comes after ~2-4 s."""

Waiting = Sequence[tuple[str, int, datetime | None]]
"""(channel, messages waiting, when the oldest was created) per channel."""


class _Queue(Collector):
    """The outbound queue's gauges, computed before a scrape from the database."""

    def __init__(self, waiting: Waiting | None, channels: Sequence[str], now: datetime) -> None:
        self.waiting = waiting
        self.channels = channels
        self.now = now

    def collect(self) -> list[GaugeMetricFamily]:
        ok = GaugeMetricFamily(
            "cxbot_outbox_query_ok",
            "1 when the outbound queue was read for this scrape, 0 when the database did not "
            "answer in time (the queue gauges are then left out)",
            value=0 if self.waiting is None else 1,
        )
        if self.waiting is None:
            return [ok]
        depth = {channel_label(c): 0 for c in self.channels}
        oldest: dict[str, datetime] = {}
        for channel, count, created in self.waiting:
            label = channel_label(channel)
            depth[label] = depth.get(label, 0) + count
            if created is not None:
                created = created if created.tzinfo else created.replace(tzinfo=UTC)
                oldest[label] = min(oldest.get(label, created), created)
        waiting = GaugeMetricFamily(
            "cxbot_outbox_waiting_messages",
            "Outbound messages waiting to be sent (pending or being sent), per channel",
            labels=["channel"],
        )
        age = GaugeMetricFamily(
            "cxbot_outbox_oldest_waiting_seconds",
            "Age of the oldest outbound message waiting to be sent, per channel (0: none)",
            labels=["channel"],
        )
        for label in sorted(depth):
            waiting.add_metric([label], depth[label])
            seconds = (self.now - oldest[label]).total_seconds() if label in oldest else 0.0
            age.add_metric([label], max(seconds, 0.0))
        return [ok, waiting, age]


class Metrics:
    """The app's metrics; the service, the delivery path and the app call its hooks."""

    def __init__(self, *, multiprocess: bool | None = None) -> None:
        if multiprocess is None:
            multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.multiprocess = multiprocess
        # in multiprocess mode the values go to files in PROMETHEUS_MULTIPROC_DIR, and a
        # scrape reads every process's files; no registry of our own then
        self.registry = None if multiprocess else CollectorRegistry()
        self._pending: asyncio.Task[Waiting] | None = None
        self.inbound = Counter(
            "cxbot_inbound_messages",
            "Inbound messages handled by the conversation service, by channel and outcome",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.handling = Histogram(
            "cxbot_handling_seconds",
            "Time to handle one inbound message (ConversationService.handle), by channel "
            "and outcome",
            ["channel", "outcome"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.sends = Counter(
            "cxbot_sent_messages",
            "Outbound messages by channel and what became of the attempt to send them",
            ["channel", "result"],
            registry=self.registry,
        )
        self.send_errors = Counter(
            "cxbot_send_errors",
            "Sends that failed or were deferred, by channel and error code (RetryAfter, "
            "Forbidden, errcode 45015, window, quota, …)",
            ["channel", "error"],
            registry=self.registry,
        )
        self.outages = Counter(
            "cxbot_database_outages",
            "Requests answered 503 because the database was unavailable, by reason class",
            ["reason"],
            registry=self.registry,
        )

    # -- hooks --------------------------------------------------------------------------

    def handled(
        self, incoming: Incoming, reply: Reply | None, error: BaseException | None, seconds: float
    ) -> None:
        """Count one `ConversationService.handle` call and its time."""
        channel = channel_label(incoming.channel)
        outcome = outcome_of(reply, error)
        self.inbound.labels(channel, outcome).inc()
        self.handling.labels(channel, outcome).observe(seconds)
        if isinstance(error, Unavailable):
            self.outage(str(error))

    def delivered(self, channel: str, report: Report) -> None:
        """Count what became of one delivery (a reply's messages, or one message)."""
        label = channel_label(channel)
        for result, ids in (
            ("sent", report.sent),
            ("failed", report.failed),
            ("deferred", report.deferred),
        ):
            if ids:
                self.sends.labels(label, result).inc(len(ids))
        if report.error is not None and (report.failed or report.deferred):
            self.send_errors.labels(label, error_code(report.error)).inc()

    def outage(self, reason: str) -> None:
        """Count one request answered 503 for a database outage."""
        self.outages.labels(outage_reason(reason)).inc()

    # -- the scrape ---------------------------------------------------------------------

    async def exposition(
        self,
        waiting: Callable[[], Awaitable[Waiting]],
        *,
        channels: Sequence[str],
        now: datetime,
        seconds: float,
    ) -> bytes:
        """The text a scrape gets: the counters and the queue read by `waiting` (given at
        most `seconds`; a read still running then is left to end by itself, and the next
        scrape does not start another meanwhile)."""
        queue = await self._read_queue(waiting, seconds)
        if self.registry is not None:
            counters = generate_latest(self.registry)
        else:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            counters = generate_latest(registry)
        scraped = CollectorRegistry()
        scraped.register(_Queue(queue, channels, now))
        return counters + generate_latest(scraped)

    async def _read_queue(
        self, waiting: Callable[[], Awaitable[Waiting]], seconds: float
    ) -> Waiting | None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(_as_task(waiting))
            self._pending.add_done_callback(_retrieved)
        task = self._pending
        done, _ = await asyncio.wait({task}, timeout=seconds)
        if not done:
            log.warning("metrics: the outbound queue was not read within %g s", seconds)
            return None
        self._pending = None
        error = task.exception()
        if error is not None:
            log.warning("metrics: the outbound queue could not be read (%s)", type(error).__name__)
            return None
        return task.result()

    def mount(
        self,
        app: FastAPI,
        *,
        token: str | None,
        waiting: Callable[[], Awaitable[Waiting]],
        channels: Callable[[], Sequence[str]],
        clock: Callable[[], datetime],
        seconds: float,
    ) -> None:
        """Serve the metrics at `/metrics`, behind the bearer token when there is one."""

        @app.get("/metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            if token is not None and not _bearer_matches(request, token):
                return PlainTextResponse(
                    "a valid metrics token is required",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            body = await self.exposition(waiting, channels=channels(), now=clock(), seconds=seconds)
            return Response(body, media_type=CONTENT_TYPE_LATEST)


async def _as_task(waiting: Callable[[], Awaitable[Waiting]]) -> Waiting:
    return await waiting()


def _retrieved(task: asyncio.Task[Waiting]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


def _bearer_matches(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def install(app: FastAPI, runtime: Runtime) -> Metrics:
    """Count what the service and the delivery path do, and serve it at `/metrics`."""
    metrics = Metrics()
    runtime.service.observer = metrics.handled
    runtime.delivery.observer = metrics.delivered
    app.state.metrics = metrics  # the app's 503 handler counts outages outside the service
    settings = runtime.settings

    async def waiting() -> Waiting:
        async with runtime.service.writer.transaction() as session:
            return await outbox.waiting(session=session)

    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    metrics.mount(
        app,
        token=token,
        waiting=waiting,
        channels=lambda: list(runtime.delivery.senders),
        clock=runtime.service.clock,
        # a queue wait and a statement, each bounded by the database timeout: a read that
        # fails (a locked or stopped database) ends before the scrape stops waiting for it
        seconds=2 * settings.database_timeout_seconds,
    )
    mode = "every worker's counters added up" if metrics.multiprocess else "this process"
    if token is None:
        log.warning(
            "metrics served at /metrics without a token (%s): set CXBOT_METRICS_TOKEN "
            "or keep /metrics off the public network",
            mode,
        )
    else:
        log.info("metrics served at /metrics, bearer token required (%s)", mode)
    return metrics


@contextlib.contextmanager
def shared_by_workers(workers: int) -> Iterator[None]:
    """With several worker processes: a fresh `PROMETHEUS_MULTIPROC_DIR` for this run (unless
    the operator set one), so a scrape adds up every worker's counters; removed afterwards."""
    if workers < 2 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix="cxbot-metrics-")
    os.environ[MULTIPROC_ENV] = folder  # the workers inherit it before they import anything
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
