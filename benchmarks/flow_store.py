"""What flows as published versions cost, on SQLite and PostgreSQL.

- the idle poll every process runs every CXBOT_FLOW_POLL_SECONDS (`FlowSync.apply` when
  nothing changed: one statement);
- a publication through the studio service (check the text, one transaction, then this
  process applies it) and the other process's pick-up (its `apply` after the marker moved:
  read the newest publications, parse the new text);
- 16 publishers racing on one flow from two engines (the revision each gets, the retries).

Run: .venv/bin/python benchmarks/flow_store.py [--backend both] [--flows 3]
PostgreSQL: a throwaway server from tests/postgres.py. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))  # tests/ is no package to install

from cxbot.flow_publishing import Publication, Publisher
from cxbot.flow_studio import Studio
from cxbot.flow_sync import FlowSync
from flows.loader import load_text
from flows.registry import BUILTIN_DIR, FlowRegistry
from storage.database import create_engine, create_sessions
from storage.migrations import upgrade
from storage.models import utcnow
from storage.writes import Writer

NPS = (BUILTIN_DIR / "nps.yaml").read_text(encoding="utf-8")


def ms(values: list[float]) -> str:
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return f"median {statistics.median(values) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"


class Process:
    """One server process's flow machinery on its own engine."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        sessions = create_sessions(self.engine)
        self.registry = FlowRegistry([BUILTIN_DIR], files_go_live=False)
        self.publisher = Publisher(Writer(sessions), utcnow)
        self.sync = FlowSync(sessions=sessions, publisher=self.publisher, registry=self.registry)
        self.studio = Studio(
            sessions=sessions,
            registry=self.registry,
            publisher=self.publisher,
            sync=self.sync,
            clock=utcnow,
        )


async def measure(url: str, flows: int) -> None:
    await asyncio.to_thread(upgrade, url)
    one, two = Process(url), Process(url)
    await one.sync.start()
    await two.sync.start()
    for n in range(flows - 3):  # more flows than the shipped three
        source = NPS.replace("id: nps", f"id: extra{n}").replace("[评价, 反馈, feedback]", "[]")
        await one.studio.publish(
            f"extra{n}", author="bench", source=source.replace("[/feedback]", "[]")
        )
    await two.sync.apply()
    idle = []
    cpu = time.process_time()
    for _ in range(500):
        started = time.perf_counter()
        assert not await two.sync.apply()
        idle.append(time.perf_counter() - started)
    cpu_ms = (time.process_time() - cpu) / 500 * 1000
    print(f"  idle poll ({flows} flows): {ms(idle)}; CPU {cpu_ms:.2f} ms per poll")
    publish, pickup = [], []
    for n in range(40):
        source = NPS.replace("您好！", f"您好{n}！")
        started = time.perf_counter()
        await one.studio.publish("nps", author="bench", source=source)
        publish.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert await two.sync.apply()
        pickup.append(time.perf_counter() - started)
        live = two.registry.current("nps")
        assert live is not None and f"您好{n}！" in live.source
    print(f"  publish (check, store, apply here): {ms(publish)}")
    print(f"  pick-up in the other process (read, parse, go live): {ms(pickup)}")
    jobs = [
        process.publisher.publish(
            load_text(NPS.replace("您好！", f"您好race{n}！")), Publication("editor", author="x")
        )
        for n in range(8)
        for process in (one, two)
    ]
    started = time.perf_counter()
    published = await asyncio.gather(*jobs)
    took = time.perf_counter() - started
    revisions = sorted(p.revision for p in published)
    distinct = len(set(revisions)) == len(revisions) == 16
    retries = one.publisher.conflicts + two.publisher.conflicts
    print(
        f"  16 racing publishers: revisions {revisions[0]}..{revisions[-1]}, all distinct: "
        f"{distinct}, retries {retries}, {took * 1000:.0f} ms in all"
    )
    await one.engine.dispose()
    await two.engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--flows", type=int, default=3)
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            print("SQLite")
            await measure(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", args.flows)
    if args.backend in ("postgresql", "both"):
        from tests.postgres import PostgresServer

        server = PostgresServer.start()
        try:
            with server.database(migrated=False) as url:
                print("PostgreSQL")
                await measure(url, args.flows)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
