"""Messages per second, latency and server CPU per message of the real `cxbot serve` over
HTTP, side by side with a bare FastAPI endpoint under the same uvicorn settings.

Simulated customers take the NPS interview (start, a tapped score, a typed reason) over the
web chat, the Telegram webhook and the WeChat safe-mode webhook; the platforms' fakes
(tests/fakes/) take the server's calls. Closed loop at a fixed concurrency, open loop at
fixed offered rates; SQLite and a throwaway PostgreSQL server (tests/postgres.py); 1 and 2
workers. Prints one table; asserts nothing (targets: docs/performance.md).

Run: .venv/bin/python benchmarks/http_load.py [--quick] [--targets web,telegram]
     [--databases sqlite] [--workers 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes, tests.postgres

import cpu_times
import load_customers
import servers
from load_generator import Result, closed_loop, open_loop

from tests.postgres import PostgresServer

WARM_UP_CUSTOMERS = 20


@dataclass
class Run:
    """One measured run: what the load generator saw and the CPU it cost."""

    result: Result
    server_cpu: float
    """CPU seconds of the server's process tree, until it was idle again."""
    db_cpu: float
    """CPU seconds of PostgreSQL (0 on SQLite: it runs inside the server)."""
    others: float
    """Share of the machine's cores busy with processes outside the benchmark (0-1)."""


@dataclass(frozen=True)
class Helpers:
    """The processes beside the server whose CPU is ours, not the machine's other load."""

    platforms: int
    database: int | None = None
    """PostgreSQL's postmaster."""


Key = tuple[str, str, int, str]
"""(target, database, workers, mode)"""


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 customers, one rate, ~5 min")
    parser.add_argument("--targets", default="web,telegram,wechat")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--modes", default="closed,open", help="closed, open or both")
    parser.add_argument("--customers", type=int, default=None, help="default 2000 (quick: 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="closed loop: customers")
    parser.add_argument("--rates", default=None, help="open loop msg/s (default 50,100; quick 50)")
    parser.add_argument(
        "--open-seconds",
        type=float,
        default=None,
        help="offer an open-loop rate this long at most (default 30; quick 6)",
    )
    parser.add_argument("--think", type=float, default=0.5, help="open loop: s between messages")
    parser.add_argument("--repeat", type=int, default=None, help="default 3 (quick: 1)")
    args = parser.parse_args()
    quick = args.quick
    args.customers = args.customers or (200 if quick else 2000)
    args.rates = [float(r) for r in (args.rates or ("50" if quick else "50,100")).split(",")]
    args.open_seconds = args.open_seconds or (6.0 if quick else 30.0)
    args.repeat = args.repeat or (1 if quick else 3)
    args.targets = [t for t in args.targets.split(",") if t and t != "bare"]
    args.databases = args.databases.split(",")
    args.workers = [int(w) for w in args.workers.split(",")]
    modes = args.modes.split(",")
    args.modes = (["closed"] if "closed" in modes else []) + (
        [f"open {r:g}/s" for r in args.rates] if "open" in modes else []
    )
    return args


async def measure(
    server: servers.Server, target: str, mode: str, args: argparse.Namespace, helpers: Helpers
) -> Run:
    """One run of `mode` against `target` on `server`, with its CPU figures."""
    customer = load_customers.TARGETS[target]
    db_pid = helpers.database
    mine = [server.process.pid, helpers.platforms, os.getpid()] + ([db_pid] if db_pid else [])
    cpu = [cpu_times.tree_seconds(pid) for pid in mine]
    busy, wall = cpu_times.machine_busy_seconds(), time.monotonic()
    if mode == "closed":
        result = await closed_loop(
            server.url, customer, customers=args.customers, concurrency=args.concurrency
        )
    else:
        rate = float(mode.split()[1].removesuffix("/s"))
        customers = min(args.customers, max(1, round(rate * args.open_seconds / 3)))
        result = await open_loop(
            server.url, customer, customers=customers, rate=rate, think=args.think
        )
    await server.settle()
    used = [cpu_times.tree_seconds(pid) - before for pid, before in zip(mine, cpu, strict=True)]
    busy, wall = cpu_times.machine_busy_seconds() - busy, time.monotonic() - wall
    others = max(0.0, busy - sum(used)) / (wall * (os.cpu_count() or 1))
    return Run(result, used[0], used[3] if db_pid else 0.0, others)


async def warm_up(server: servers.Server, target: str) -> None:
    """A few untimed customers: first connections, first flow load, the bot's getMe."""
    customer = load_customers.TARGETS[target]
    await closed_loop(server.url, customer, customers=WARM_UP_CUSTOMERS, concurrency=10)
    await server.settle()


async def measure_server(
    server: servers.Server,
    targets: list[str],
    where: tuple[str, int],
    args: argparse.Namespace,
    runs: dict[Key, list[Run]],
    helpers: Helpers,
) -> None:
    await server.ready()
    try:
        for target in targets:
            await warm_up(server, target)
            for mode in args.modes:
                run = await measure(server, target, mode, args, helpers)
                runs[(target, where[0], where[1], mode)].append(run)
                report(target, where, mode, run)
    finally:
        server.stop()


def report(target: str, where: tuple[str, int], mode: str, run: Run) -> None:
    r = run.result
    print(
        f"  {target:8} {where[0]:10} {where[1]}w {mode:12} {r.rate:7.1f} msg/s  "
        f"p50 {r.percentile(50) * 1000:6.0f} ms  p99 {r.percentile(99) * 1000:6.0f} ms  "
        f"{len(r.latencies)} ok, {r.errors} errors {r.error_sample}  "
        f"others {run.others:.0%}  load {os.getloadavg()[0]:.2f}",
        file=sys.stderr,
        flush=True,
    )


async def benchmark(args: argparse.Namespace, folder: Path) -> dict[Key, list[Run]]:
    runs: dict[Key, list[Run]] = defaultdict(list)
    platforms = servers.Platforms()
    postgres = None
    try:
        if "postgresql" in args.databases:
            postgres = await asyncio.to_thread(PostgresServer.start)
        for repeat in range(args.repeat):
            for workers in args.workers:
                log = folder / f"bare-{repeat}-{workers}.log"
                bare = servers.bare(workers, log)
                helpers = Helpers(platforms.process.pid)
                await measure_server(bare, ["bare"], ("-", workers), args, runs, helpers)
                for database in args.databases:
                    with contextlib.ExitStack() as stack:
                        pid = None
                        if database == "postgresql":
                            assert postgres is not None
                            url = stack.enter_context(postgres.database())
                            pid = int((postgres.data / "postmaster.pid").read_text().split()[0])
                        else:
                            url = f"sqlite+aiosqlite:///{folder}/bench-{repeat}-{workers}.db"
                        log = folder / f"cxbot-{database}-{repeat}-{workers}.log"
                        server = servers.cxbot(url, workers, platforms.urls, log)
                        helpers = Helpers(platforms.process.pid, pid)
                        where = (database, workers)
                        await measure_server(server, args.targets, where, args, runs, helpers)
    finally:
        platforms.stop()
        if postgres is not None:
            postgres.stop()
    return runs


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds == seconds else "-"  # nan: too few answers


def table(runs: dict[Key, list[Run]]) -> str:
    """The figures, a row per (target, database, workers, mode); medians of the repeats."""
    head = (
        "| target | db | workers | mode | msg/s | p50 ms | p95 ms | p99 ms | CPU ms/msg "
        "| +db CPU ms/msg | ratio to bare | errors | others' CPU |"
    )
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    bare_rate = {
        (workers, mode): statistics.median(r.result.rate for r in found)
        for (target, _, workers, mode), found in runs.items()
        if target == "bare"
    }
    for (target, db, workers, mode), found in runs.items():
        rates = [r.result.rate for r in found]
        rate = statistics.median(rates)
        spread = f" ({min(rates):,.0f}–{max(rates):,.0f})" if len(rates) > 1 else ""
        answered = [max(len(r.result.latencies), 1) for r in found]
        cpu = statistics.median(
            r.server_cpu / n * 1000 for r, n in zip(found, answered, strict=True)
        )
        db_cpu = statistics.median(
            r.db_cpu / n * 1000 for r, n in zip(found, answered, strict=True)
        )
        cells = [
            target,
            db,
            str(workers),
            mode,
            f"{rate:,.0f}{spread}",
            *(_ms(statistics.median(r.result.percentile(p) for r in found)) for p in (50, 95, 99)),
            f"{cpu:.2f}",
            f"{db_cpu:.2f}" if db == "postgresql" else "-",
            f"{rate / bare_rate[(workers, mode)]:.2f}" if (workers, mode) in bare_rate else "-",
            str(sum(r.result.errors for r in found)),
            f"{statistics.median(r.others for r in found):.0%}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    args = options()
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    print(
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load {load_before[0]:.2f}; "
        f"{args.customers} customers, closed loop {args.concurrency} at a time, open loop "
        f"≤ {args.open_seconds:g} s per rate, think {args.think:g} s; repeat {args.repeat}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="cxbot-bench-") as folder:
        runs = asyncio.run(benchmark(args, Path(folder)))
    minutes = (datetime.now(UTC) - started).total_seconds() / 60
    print(table(runs))
    print(
        f"\n{started:%Y-%m-%d} · {os.cpu_count()} cores · load average before "
        f"{load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} · {minutes:.1f} min · "
        f"others' CPU: share of all cores used by processes outside the benchmark"
    )


if __name__ == "__main__":
    main()
