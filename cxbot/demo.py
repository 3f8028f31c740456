"""Sample data for `cxbot demo`: real interviews run through the real service.

Customers answer the shipped flows over eight weeks, on three channels, in Chinese and
English, so dashboards and transcripts (later issues) have something true to show.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from cxbot.conversations import ConversationService, Incoming
from cxbot.settings import Settings
from flows.registry import FlowRegistry
from storage import queries
from storage.database import create_engine, create_sessions, normalize_url, shown_url, sqlite_file
from storage.migrations import upgrade
from storage.models import Conversation

REASONS = {
    "low": {
        "zh": ["客服回复太慢了", "等了三天才发货", "退款流程太复杂", "电话一直打不通"],
        "en": [
            "Support took days to answer",
            "The refund process was confusing",
            "My order arrived late",
            "Nobody picked up the phone",
        ],
    },
    "mid": {
        "zh": ["整体还行，物流可以再快点", "价格有点贵", "跳过"],
        "en": ["Fine overall, shipping could be faster", "A bit pricey", "skip"],
    },
    "high": {
        "zh": ["客服很耐心", "发货很快，包装也好", "质量很好"],
        "en": ["The agent was patient and kind", "Fast delivery, great packaging", "Great quality"],
    },
}
CHANNELS = ("web", "telegram", "wechat")


def _score(rng: random.Random, low: int, high: int) -> int:
    # skewed towards the top, as real satisfaction data is
    return min(high, max(low, round(low + rng.betavariate(5, 1.3) * (high - low))))


def _band(score: int, low: int, high: int) -> str:
    share = (score - low) / (high - low)
    return "low" if share <= 0.6 else ("mid" if share <= 0.8 else "high")


async def _interview(
    service: ConversationService, rng: random.Random, number: int, flow_id: str, at: datetime
) -> None:
    language = rng.choice(["zh", "zh", "en"])
    channel = rng.choice(CHANNELS)
    ref = f"demo-{number:04d}"
    reply = await service.handle(
        Incoming(
            channel=channel,
            customer_ref=ref,
            kind="command",
            command="start",
            flow_id=flow_id,
            at=at,
            language_hint=language,
            platform_message_id=f"{ref}-0",
            replies="inline",
        )
    )
    band = "mid"
    for turn in range(1, 6):
        if not reply.messages:
            return
        _, question = reply.messages[-1]
        at += timedelta(seconds=rng.randint(5, 90))
        if question.buttons and question.step_id:
            values = [b.payload.partition(":")[2] for b in question.buttons]
            if all(v.lstrip("-").isdigit() for v in values):
                low, high = int(values[0]), int(values[-1])
                score = _score(rng, low, high)
                band = _band(score, low, high)
                answer = f"{question.step_id}:{score}"
            else:
                answer = f"{question.step_id}:{rng.choice(values)}"
            incoming = Incoming(
                channel=channel,
                customer_ref=ref,
                kind="button",
                button=answer,
                at=at,
                platform_message_id=f"{ref}-{turn}",
                replies="inline",
            )
        elif question.step_id:
            text = rng.choice(REASONS[band][language])
            incoming = Incoming(
                channel=channel,
                customer_ref=ref,
                text=text,
                at=at,
                platform_message_id=f"{ref}-{turn}",
                replies="inline",
            )
        else:
            return
        reply = await service.handle(incoming)


def describe_database(url: str) -> str:
    """Where the demo data is: the SQLite file's full path, or the URL without its password."""
    path = sqlite_file(url)
    return str(path.resolve()) if path is not None else shown_url(normalize_url(url))


async def seed(settings: Settings, *, interviews: int = 150, seed_value: int = 7) -> int:
    """Add sample interviews to an empty database; return how many were added."""
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        sessions = create_sessions(engine)
        async with sessions() as session:
            if await queries.count_rows(session=session, model=Conversation):
                return 0
        registry = FlowRegistry(settings.flow_paths)
        registry.refresh()
        flow_ids = [f for f in ("nps", "ces", "csat") if registry.current(f)]
        if not flow_ids:
            return 0
        service = ConversationService(sessions=sessions, registry=registry)
        rng = random.Random(seed_value)
        start = datetime.now(UTC) - timedelta(weeks=8)
        for number in range(interviews):
            at = start + timedelta(minutes=rng.randint(0, 8 * 7 * 24 * 60))
            await _interview(service, rng, number, rng.choice(flow_ids), at)
        return interviews
    finally:
        await engine.dispose()
