"""One load generator for every target: simulated customers posting their requests in order
(each message after the previous one was answered), over aiohttp.

- closed loop: `concurrency` customers at a time, each sending its next message as soon as
  the last one was answered; the next customer starts when one finishes.
- open loop: customers arrive on a fixed schedule (one every 3/rate s, so `rate` messages a
  second are offered), each message `think` seconds after the previous one was planned.
  Latency counts from the planned time, so a server that falls behind is charged for the
  wait (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import aiohttp
from load_customers import Customer, Request

TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass
class Result:
    """What one run measured."""

    latencies: list[float] = field(default_factory=list)
    """Seconds, of the messages answered 200."""
    errors: int = 0
    error_sample: str = ""
    started: float = 0.0
    ended: float = 0.0
    answered_at: list[float] = field(default_factory=list)
    window: tuple[float, float] | None = None
    """Open loop: the steady part of the schedule (every customer's arrival and pauses
    ramped up, none ramping down); the rate counts the answers that came within it."""

    @property
    def rate(self) -> float:
        """Messages answered 200 per second (of the window, else of the whole run)."""
        if self.window is None:
            return len(self.latencies) / max(self.ended - self.started, 1e-9)
        begin, end = self.window
        return sum(begin <= t < end for t in self.answered_at) / (end - begin)

    def percentile(self, p: int) -> float:
        """The p-th percentile latency in seconds (nan with fewer than two answers)."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]


class Poster:
    """Posts requests to one server and records how each went."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, result: Result) -> None:
        self.session = session
        self.base_url = base_url
        self.result = result

    async def post(self, request: Request, since: float) -> None:
        """Post and wait for the whole answer; latency from `since` (a perf_counter time)."""
        try:
            async with self.session.post(
                self.base_url + request.path,
                data=request.body,
                headers=request.headers,
                params=request.params,
            ) as response:
                await response.read()
                ok = response.status == 200
                problem = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            ok, problem = False, f"{type(error).__name__}: {error}"
        done = time.perf_counter()
        self.result.ended = max(self.result.ended, done)
        if ok:
            self.result.latencies.append(done - since)
            self.result.answered_at.append(done)
        else:
            self.result.errors += 1
            self.result.error_sample = self.result.error_sample or problem


def _session(connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        cookie_jar=aiohttp.DummyCookieJar(),  # each customer carries its own cookie
        timeout=TIMEOUT,
    )


async def closed_loop(
    base_url: str, customer: Customer, *, customers: int, concurrency: int
) -> Result:
    """`customers` customers, `concurrency` at a time, no pause between messages."""
    result = Result()
    left = iter(range(customers))
    async with _session(concurrency) as session:
        poster = Poster(session, base_url, result)

        async def one_at_a_time() -> None:
            for _ in left:
                for request in customer():
                    await poster.post(request, time.perf_counter())

        result.started = time.perf_counter()
        await asyncio.gather(*(one_at_a_time() for _ in range(concurrency)))
    return result


async def open_loop(
    base_url: str, customer: Customer, *, customers: int, rate: float, think: float
) -> Result:
    """`customers` customers arriving so that `rate` messages a second are offered."""
    result = Result()
    arrival = 3 / rate
    async with _session(10_000) as session:
        poster = Poster(session, base_url, result)
        result.started = time.perf_counter() + 0.2
        steady = (result.started + 2 * think, result.started + (customers - 1) * arrival)
        if steady[1] - steady[0] >= 1.0:
            result.window = steady

        async def arrives(number: int) -> None:
            start = result.started + number * arrival
            await asyncio.sleep(max(0.0, start - time.perf_counter()))
            for step, request in enumerate(customer()):
                planned = start + step * think
                await asyncio.sleep(max(0.0, planned - time.perf_counter()))
                await poster.post(request, planned)

        await asyncio.gather(*(arrives(n) for n in range(customers)))
    return result
