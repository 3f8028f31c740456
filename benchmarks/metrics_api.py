"""`GET /api/v1/metrics` over 1,000,000 stored answers, on SQLite and PostgreSQL.

Run: .venv/bin/python benchmarks/metrics_api.py [--answers 1000000] [--databases sqlite,postgresql]

Fills a migrated SQLite file (sqlite3 executemany) and a throwaway PostgreSQL server
(tests/postgres.py; COPY) with interviews spread over a year, six flows, three channels and
two languages: 4 in 5 answers a score, 1 in 5 a free-text reason, and one interview in ten
never answered. Then it times the real route — `admin.metrics.api_router` in a FastAPI app,
called through httpx's ASGI transport (request parsing, validation, the four SQL
aggregates on the real engine, JSON) — unfiltered and filtered, and prints a table: the
median and the slowest of `--repeat` calls after one warm-up call. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.postgres

from admin.metrics import api_router
from storage.database import create_engine, create_sessions
from storage.migrations import upgrade
from tests.postgres import PostgresServer

END = datetime(2026, 11, 29, tzinfo=UTC)
FLOWS = [  # id, touchpoint, journey stage, metric, low, high, share of interviews
    ("nps", "relationship", "loyalty", "nps", 0, 10, 0.30),
    ("nps_onboarding", "onboarding", "onboarding", "nps", 0, 10, 0.10),
    ("ces", "after_support", "usage", "ces", 1, 7, 0.20),
    ("ces_checkout", "checkout", "purchase", "ces", 1, 5, 0.10),
    ("csat", "after_delivery", "purchase", "csat", 1, 5, 0.20),
    ("csat_support", "after_support", "usage", "csat", 1, 5, 0.10),
]
CHANNELS = (["web"] * 5) + (["wechat"] * 3) + (["telegram"] * 2)
LANGUAGES = ["zh", "zh", "en"]
STATUSES = (["completed"] * 16) + ["abandoned", "abandoned", "handed_off", "active"]
CASES: list[tuple[str, dict[str, str]]] = [
    ("no filter, weekly", {}),
    ("no filter, daily", {"interval": "day"}),
    ("last 30 days, daily", {"from": "2026-10-30", "to": "2026-11-28", "interval": "day"}),
    ("one quarter", {"from": "2026-06-01", "to": "2026-08-31"}),
    ("flow=nps", {"flow": "nps"}),
    ("channel=wechat", {"channel": "wechat"}),
    ("journey_stage=usage", {"journey_stage": "usage"}),
    ("touchpoint + language", {"touchpoint": "after_support", "language": "en"}),
    ("everything", {"from": "2026-01-01", "to": "2026-06-30", "flow": "csat",
                    "channel": "web", "language": "zh", "journey_stage": "purchase"}),
]
ANSWER_COLUMNS = (
    "conversation_id", "flow_id", "step_id", "variable", "metric", "score", "scale_low",
    "scale_high", "text", "channel", "language", "touchpoint", "journey_stage", "created_at",
)
CONVERSATION_COLUMNS = (
    "id", "customer_id", "channel", "flow_id", "flow_version", "touchpoint", "journey_stage",
    "language", "status", "state", "started_at", "updated_at", "ended_at", "answered_at",
)


def _score(rng: random.Random, low: int, high: int) -> int:
    return min(high, max(low, round(low + rng.betavariate(4, 1.4) * (high - low))))


Rows = list[tuple[Any, ...]]


def generate(answers: int, seed: int = 14) -> tuple[Rows, Rows]:
    """Conversations and answers: 4 in 5 answers scores, 1 in 5 reasons."""
    rng = random.Random(seed)
    weights = [flow[6] for flow in FLOWS]
    conversations: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    number = 0
    while len(rows) < answers:
        number += 1
        flow, touchpoint, stage, metric, low, high, _ = rng.choices(FLOWS, weights)[0]
        channel, language = rng.choice(CHANNELS), rng.choice(LANGUAGES)
        started = END - timedelta(seconds=rng.randrange(365 * 86400))
        answered = rng.random() > 0.1
        status = rng.choice(STATUSES) if answered else rng.choice(["abandoned", "active"])
        at = started + timedelta(seconds=rng.randrange(5, 120))
        conversations.append(
            (number, 1 + number % 300_000, channel, flow, "v1", touchpoint, stage, language,
             status, "{}", started, at, at if status != "active" else None,
             at if answered else None)
        )
        if not answered:
            continue
        common = (channel, language, touchpoint, stage, at)
        rows.append((number, flow, "ask", "score", metric, _score(rng, low, high), low, high,
                     None, *common))
        if rng.random() < 0.25 and len(rows) < answers:
            rows.append((number, flow, "why", "reason", None, None, None, None,
                         "物流太慢 / shipping was slow", *common))
    return conversations, rows


def fill_sqlite(path: Path, conversations: Rows, rows: Rows) -> None:
    """executemany in one transaction (timestamps as SQLAlchemy stores them)."""

    def stamp(value: Any) -> Any:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value

    customers = max(c[1] for c in conversations)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executemany(
            "INSERT INTO customer (id, channel, external_id, created_at) VALUES (?, 'web', ?, ?)",
            ((i, f"c{i}", stamp(END)) for i in range(1, customers + 1)),
        )
        db.executemany(
            f"INSERT INTO conversation ({', '.join(CONVERSATION_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(CONVERSATION_COLUMNS))})",
            (tuple(stamp(v) for v in c) for c in conversations),
        )
        db.executemany(
            f"INSERT INTO answer ({', '.join(ANSWER_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(ANSWER_COLUMNS))})",
            (tuple(stamp(v) for v in r) for r in rows),
        )
        db.commit()


def fill_postgres(url: str, conversations: Rows, rows: Rows) -> None:
    """COPY, then ANALYZE (autovacuum would, a minute later)."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    customers = max(c[1] for c in conversations)
    with psycopg.connect(dsn) as db, db.cursor() as cursor:
        with cursor.copy("COPY customer (id, channel, external_id, created_at) FROM STDIN") as copy:
            for i in range(1, customers + 1):
                copy.write_row((i, "web", f"c{i}", END))
        columns = ", ".join(CONVERSATION_COLUMNS)
        with cursor.copy(f"COPY conversation ({columns}) FROM STDIN") as copy:
            for conversation in conversations:
                copy.write_row(conversation)
        with cursor.copy(f"COPY answer ({', '.join(ANSWER_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("SELECT setval('conversation_id_seq', (SELECT max(id) FROM conversation))")
        db.commit()
        db.autocommit = True
        cursor.execute("VACUUM ANALYZE")


async def tally_rows(url: str) -> str:
    """How many rows the dashboard's two tally tables hold."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            answers = (await connection.execute(text("SELECT count(*) FROM answer_tally"))).scalar()
            interviews = (
                await connection.execute(text("SELECT count(*) FROM conversation_tally"))
            ).scalar()
    finally:
        await engine.dispose()
    return f"{answers:,} answer, {interviews:,} interview"


async def measure(url: str, repeat: int) -> list[tuple[str, float, float, int]]:
    """(case, median ms, slowest ms, scale answers counted) per case."""
    engine = create_engine(url)
    app = FastAPI()
    app.include_router(api_router(create_sessions(engine), viewer=lambda: None))
    results = []
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, params in CASES:
                timings = []
                body: dict[str, Any] = {}
                for _ in range(repeat + 1):
                    started = time.perf_counter()
                    response = await client.get("/api/v1/metrics", params=params)
                    timings.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    body = response.json()
                counted = body["nps"]["n"] + sum(f["n"] for m in ("ces", "csat") for f in body[m])
                timings = timings[1:]
                results.append((name, statistics.median(timings), max(timings), counted))
    finally:
        await engine.dispose()
    return results


@contextlib.contextmanager
def databases(
    names: list[str], folder: Path, sqlite_file: Path | None
) -> Iterator[list[tuple[str, str]]]:
    """(name, URL) of each migrated database (empty, or a kept SQLite file)."""
    found: list[tuple[str, str]] = []
    server = None
    try:
        if "sqlite" in names:
            url = f"sqlite+aiosqlite:///{sqlite_file or folder / 'metrics.db'}"
            upgrade(url)
            found.append(("sqlite", url))
        if "postgresql" in names:
            server = PostgresServer.start()
            with server.database() as url:
                found.append(("postgresql", url))
                yield found
                return
        yield found
    finally:
        if server is not None:
            server.stop()


def _has_answers(url: str) -> bool:
    with contextlib.closing(sqlite3.connect(url.split("///", 1)[1])) as db:
        return bool(db.execute("SELECT count(*) FROM answer").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--sqlite-file", type=Path, help="keep the SQLite database here (filled once, reused)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    conversations, rows = generate(args.answers)
    print(f"generated {len(conversations):,} interviews, {len(rows):,} answers "
          f"in {time.perf_counter() - started:.1f} s")
    table: list[tuple[str, str, float, float, int]] = []
    with tempfile.TemporaryDirectory() as folder, databases(
        args.databases.split(","), Path(folder), args.sqlite_file
    ) as found:
        for name, url in found:
            started = time.perf_counter()
            if name == "sqlite" and _has_answers(url):
                print(f"sqlite: reusing {args.sqlite_file}")
                continue
            if name == "sqlite":
                fill_sqlite(Path(url.split("///", 1)[1]), conversations, rows)
            else:
                fill_postgres(url, conversations, rows)
            print(f"{name}: filled in {time.perf_counter() - started:.1f} s; "
                  f"tally rows: {asyncio.run(tally_rows(url))}")
        # the generated rows (millions of objects) would make every garbage collection
        # during the timed requests walk them: gone before timing
        del conversations, rows
        gc.collect()
        for name, url in found:
            print(f"{name}: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            for case, median, slowest, counted in asyncio.run(measure(url, args.repeat)):
                table.append((name, case, median, slowest, counted))
    print("\n| database | request | median ms | slowest ms | scale answers |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, case, median, slowest, counted in table:
        print(f"| {name} | {case} | {median:.0f} | {slowest:.0f} | {counted:,} |")


if __name__ == "__main__":
    main()
