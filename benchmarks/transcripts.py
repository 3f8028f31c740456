"""The transcript list, search and CSV export over 1,000,000 stored messages, on SQLite and
PostgreSQL.

Fills 125,000 interviews of 8 messages (4 by the customer: a start, a score, a comment, an
afterthought; 4 by the bot) and 375,000 answers with Core bulk inserts, builds the search
index with the migration's own backfill (`storage.search_index.rebuild`, timed), then times
through the same functions the API uses: search (a common 2-character term, a 4-character
phrase, an English word, a rare term, a term nobody wrote), list page 1 and page 1000
(following cursors), filtered pages, one transcript, and the CSV export's throughput.

Run: .venv/bin/python benchmarks/transcripts.py [--conversations 125000] [--backend both]
PostgreSQL: a throwaway server from tests/postgres.py (initdb, pg_ctl on PATH or in
/usr/lib/postgresql/*/bin). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from admin.answers_csv import answers_csv
from storage import search_index
from storage.conversation_list import ConversationFilters, Cursor, list_conversations, rows_of
from storage.database import Sessions, create_engine, create_sessions, reading, sync_url
from storage.migrations import upgrade
from storage.transcripts import load_transcript

ZH = [
    "物流太慢",
    "物流很快",
    "客服态度很好",
    "包装破了",
    "价格有点贵",
    "质量不错",
    "退款太慢",
    "快递员很礼貌",
    "等了一个星期",
    "下次还会买",
    "应用经常闪退",
    "送货上门很方便",
    "颜色和图片不一样",
    "售后处理及时",
    "尺码偏小",
    "赠品没有收到",
]
EN = [
    "delivery was late",
    "great service",
    "the app keeps crashing",
    "refund took too long",
    "friendly staff",
    "price is too high",
    "quality is good",
    "box was damaged",
    "will buy again",
    "support never answered",
]
RARE = "开发票很麻烦"
"""In about 1 comment of 1,000."""
T0 = datetime(2025, 1, 1, tzinfo=UTC)
BATCH = 10_000


def comment(rng: random.Random) -> str:
    if rng.random() < 0.001:
        return RARE
    parts = [rng.choice(ZH if rng.random() < 0.7 else EN) for _ in range(rng.randint(1, 3))]
    return "，".join(parts)


def fill(url: str, conversations: int) -> None:
    """Customers, conversations, 8 messages and 3 answers each, some escalations."""
    rng = random.Random(14)
    tables = SQLModel.metadata.tables
    engine = sa.create_engine(sync_url(url))
    with engine.begin() as db:
        for start in range(0, conversations, BATCH // 8):
            ids = range(start + 1, min(conversations, start + BATCH // 8) + 1)
            people, talks, messages, answers, escalations = [], [], [], [], []
            for ref in ids:
                at = T0 + timedelta(minutes=ref)
                score, said = rng.randint(0, 10), comment(rng)
                people.append(
                    {"id": ref, "channel": "web", "external_id": f"v{ref}", "created_at": at}
                )
                talks.append(
                    {
                        "id": ref,
                        "customer_id": ref,
                        "channel": rng.choice(["web", "telegram", "wechat"]),
                        "flow_id": "nps",
                        "flow_version": "1",
                        "touchpoint": "delivery",
                        "journey_stage": "post-purchase",
                        "language": "zh",
                        "status": rng.choice(["completed"] * 8 + ["abandoned", "handed_off"]),
                        "state": {},
                        "started_at": at,
                        "updated_at": at,
                    }
                )
                for direction, author, body in (
                    ("in", "customer", "/start"),
                    ("out", "bot", "您向朋友推荐我们的可能性有多大？"),
                    ("in", "customer", str(score)),
                    ("out", "bot", "原因是什么？"),
                    ("in", "customer", said),
                    ("out", "bot", "还有别的吗？"),
                    ("in", "customer", rng.choice(["没有了", "no", "谢谢"])),
                    ("out", "bot", "感谢您的反馈！"),
                ):
                    messages.append(
                        {
                            "customer_id": ref,
                            "conversation_id": ref,
                            "channel": "web",
                            "direction": direction,
                            "author": author,
                            "text": body,
                            "payload": {},
                            "delivery_state": "received" if direction == "in" else "sent",
                            "attempts": 0,
                            "created_at": at,
                        }
                    )
                base = {
                    "conversation_id": ref,
                    "flow_id": "nps",
                    "channel": "web",
                    "language": "zh",
                    "touchpoint": "delivery",
                    "created_at": at,
                }
                answers += [
                    {
                        **base,
                        "step_id": "ask_score",
                        "variable": "score",
                        "metric": "nps",
                        "score": score,
                        "scale_low": 0,
                        "scale_high": 10,
                        "text": None,
                    },
                    {
                        **base,
                        "step_id": "why",
                        "variable": "reason",
                        "metric": None,
                        "score": None,
                        "scale_low": None,
                        "scale_high": None,
                        "text": said,
                    },
                    {
                        **base,
                        "step_id": "more",
                        "variable": "more",
                        "metric": None,
                        "score": None,
                        "scale_low": None,
                        "scale_high": None,
                        "text": "没有了",
                    },
                ]
                if score <= 6 and rng.random() < 0.3:
                    escalations.append(
                        {
                            "conversation_id": ref,
                            "customer_id": ref,
                            "reason": "low-score",
                            "priority": "high",
                            "status": "open",
                            "due_at": at,
                            "created_at": at,
                        }
                    )
            for name, rows in (
                ("customer", people),
                ("conversation", talks),
                ("message", messages),
                ("answer", answers),
                ("escalation", escalations),
            ):
                if rows:
                    db.execute(tables[name].insert(), rows)
    engine.dispose()


def rebuild(url: str) -> float:
    engine = sa.create_engine(sync_url(url))
    started = time.perf_counter()
    with engine.begin() as db:
        search_index.rebuild(db, SQLModel.metadata.tables["search_term"])
    # the statistics (and on PostgreSQL the visibility map) autovacuum keeps in production
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


async def timed(run: Callable[[], Awaitable[Any]], repeat: int = 7) -> tuple[float, Any]:
    """Median milliseconds of `repeat` runs (after one warm-up) and the last result."""
    result = await run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = await run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


async def page(sessions: Sessions, filters: ConversationFilters, cursor: Cursor | None) -> Any:
    async with reading(sessions) as session:
        found = await list_conversations(session=session, filters=filters, cursor=cursor)
        return len(found.items), found.next_cursor


def first_page(sessions: Sessions, filters: ConversationFilters) -> Callable[[], Awaitable[Any]]:
    """Page 1 with these filters, as something `timed` can call."""
    return lambda: page(sessions, filters, None)


async def page_1000(sessions: Sessions, filters: ConversationFilters) -> tuple[float, int]:
    """Follow 999 cursors, then time page 1000 (median ms) and its row count."""
    cursor: Cursor | None = None
    for _ in range(999):
        _, cursor = await page(sessions, filters, cursor)
        if cursor is None:
            return 0.0, 0
    ms, (rows, _) = await timed(lambda: page(sessions, filters, cursor))
    return ms, rows


async def csv_rate(sessions: Sessions) -> tuple[float, int, int]:
    started, size, lines = time.perf_counter(), 0, 0
    async for chunk in answers_csv(sessions, ConversationFilters()):
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    return time.perf_counter() - started, lines - 1, size


async def measure(url: str, conversations: int) -> None:
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(fill, url, conversations)
    filled = time.perf_counter() - started
    indexed = await asyncio.to_thread(rebuild, url)
    engine = create_engine(url, timeout=30)
    sessions = create_sessions(engine)
    async with reading(sessions) as session:
        [(terms, messages)] = await rows_of(
            session,
            sa.text("SELECT (SELECT count(*) FROM search_term), (SELECT count(*) FROM message)"),
        )
    print(
        f"  filled {messages:,} messages in {filled:.0f} s; index rebuilt "
        f"({terms:,} term rows) in {indexed:.0f} s"
    )
    for label, words in (
        ("search 物流 (common)", "物流"),
        ("search 物流太慢", "物流太慢"),
        ("search late (English)", "late"),
        ("search 发票 (rare)", "发票"),
        ("search 物流 late (mixed)", "物流 late"),
        ("search 物流 crashing (rarely together)", "物流 crashing"),
        ("search 火星 (nobody)", "火星"),
    ):
        ms, (rows, _) = await timed(first_page(sessions, ConversationFilters(text=words)))
        print(f"  {label:32} page 1: {ms:7.1f} ms ({rows} rows)")
    for label, chosen in (
        ("list, no filter", ConversationFilters()),
        ("list, detractors", ConversationFilters(band="detractor")),
        ("list, escalated", ConversationFilters(escalated=True)),
        ("search 物流 + detractors", ConversationFilters(text="物流", band="detractor")),
    ):
        ms, (rows, _) = await timed(first_page(sessions, chosen))
        deep, deep_rows = await page_1000(sessions, chosen)
        print(f"  {label:32} page 1: {ms:7.1f} ms; page 1000: {deep:7.1f} ms ({deep_rows} rows)")

    async def one() -> Any:
        async with reading(sessions) as session:
            return await load_transcript(session=session, conversation_id=conversations // 2)

    ms, _ = await timed(one)
    print(f"  {'one transcript':32} {ms:7.1f} ms")
    seconds, rows, size = await csv_rate(sessions)
    print(
        f"  CSV of all answers: {rows:,} rows, {size / 1e6:.0f} MB in {seconds:.1f} s "
        f"= {rows / seconds:,.0f} rows/s"
    )
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=125_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            print("SQLite")
            await measure(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", args.conversations)
    if args.backend in ("postgresql", "both"):
        sys.path.insert(0, str(Path(__file__).parent.parent))  # tests/ is no package to install
        from tests.postgres import PostgresServer

        server = PostgresServer.start()
        try:
            with server.database(migrated=False) as url:
                print("PostgreSQL")
                await measure(url, args.conversations)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
