"""Throughput and latency of the engine alone and of the conversation service on SQLite.

Run: .venv/bin/python benchmarks/throughput.py [--customers 200]
Prints figures; asserts nothing (speed targets live here, not in timed tests).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cxbot.conversations import ConversationService, Incoming
from flows import engine
from flows.loader import load_file
from flows.registry import BUILTIN_DIR, FlowRegistry
from flows.state import Inbound
from storage.database import create_engine, create_sessions
from storage.migrations import upgrade


def bench_engine(rounds: int) -> float:
    loaded = load_file(BUILTIN_DIR / "nps.yaml")
    now = datetime.now(UTC)
    started = time.perf_counter()
    for _ in range(rounds):
        outcome = engine.start(loaded.flow, version=loaded.version, at=now)
        outcome = engine.advance(loaded.flow, outcome.state, Inbound(at=now, text="九分"))
        engine.advance(loaded.flow, outcome.state, Inbound(at=now, text="fast delivery"))
    elapsed = time.perf_counter() - started
    return rounds * 3 / elapsed


async def bench_service(
    customers: int, concurrency: int, database_url: str | None
) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        db = create_engine(url)
        registry = FlowRegistry([BUILTIN_DIR])
        registry.refresh()
        service = ConversationService(sessions=create_sessions(db), registry=registry)
        latencies: list[float] = []
        gate = asyncio.Semaphore(concurrency)

        async def customer(number: int) -> None:
            ref = f"bench-{number}"
            messages = [
                Incoming(
                    channel="web",
                    customer_ref=ref,
                    kind="command",
                    command="start",
                    flow_id="nps",
                    platform_message_id=f"{ref}-0",
                ),
                Incoming(
                    channel="web",
                    customer_ref=ref,
                    kind="button",
                    button="ask_score:9",
                    platform_message_id=f"{ref}-1",
                ),
                Incoming(
                    channel="web",
                    customer_ref=ref,
                    text="quick and friendly",
                    platform_message_id=f"{ref}-2",
                ),
            ]
            async with gate:
                for message in messages:
                    started = time.perf_counter()
                    await service.handle(message)
                    latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(customer(n) for n in range(customers)))
        elapsed = time.perf_counter() - started
        await db.dispose()
        return len(latencies) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--engine-rounds", type=int, default=5000)
    parser.add_argument(
        "--database-url",
        default=None,
        help="an empty database to use instead of a temporary SQLite file",
    )
    args = parser.parse_args()
    print(f"engine.advance (pure, nps flow): {bench_engine(args.engine_rounds):,.0f} steps/s")
    rate, latencies = asyncio.run(
        bench_service(args.customers, args.concurrency, args.database_url)
    )
    quantiles = statistics.quantiles(latencies, n=100)
    where = args.database_url.split(":")[0] if args.database_url else "SQLite (WAL)"
    print(
        f"service.handle on {where}, {args.customers} customers x 3 messages, "
        f"{args.concurrency} concurrent: {rate:,.0f} messages/s"
    )
    print(
        f"  latency p50 {quantiles[49] * 1000:.1f} ms, p95 {quantiles[94] * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
