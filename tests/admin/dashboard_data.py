"""A fixed set of interviews and answers whose dashboard figures the tests count by hand.

Sunday 2026-03-01 and Monday 2026-03-02 (UTC) straddle an ISO week boundary. One answer is
given at 07:30 in Shanghai on the Monday, which is still Sunday 23:30 in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from storage import queries
from storage.database import Sessions, transaction
from storage.models import Answer, Conversation

SUN = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
SUN_LATE = datetime(2026, 3, 2, 7, 30, tzinfo=timezone(timedelta(hours=8)))
MON = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FLOWS = {
    "nps": ("relationship", "loyalty", "nps", 0, 10),
    "ces": ("after_support", "usage", "ces", 1, 7),
    "ces5": ("after_support", "usage", "ces", 1, 5),
    "csat": ("after_delivery", "purchase", "csat", 1, 5),
}


@dataclass(frozen=True)
class Interview:
    flow: str
    score: int | None
    channel: str
    language: str
    at: datetime
    status: str = "completed"


INTERVIEWS = [
    # NPS: promoters 10 9 9 10 9, passives 8 7, detractors 6 3 0
    Interview("nps", 10, "web", "zh", SUN),
    Interview("nps", 9, "web", "en", SUN),
    Interview("nps", 9, "telegram", "zh", SUN_LATE),
    Interview("nps", 10, "telegram", "zh", MON),
    Interview("nps", 8, "web", "zh", MON),
    Interview("nps", 7, "wechat", "en", MON),
    Interview("nps", 6, "web", "zh", MON, "handed_off"),
    Interview("nps", 3, "telegram", "en", MON, "handed_off"),
    Interview("nps", 0, "web", "zh", SUN),
    Interview("nps", 9, "wechat", "zh", MON),
    # CES on the 7-point scale, Monday, web, en
    *(Interview("ces", s, "web", "en", MON) for s in (7, 6, 5, 4, 2)),
    # CES on the 5-point scale, Sunday, telegram, zh
    *(Interview("ces5", s, "telegram", "zh", SUN) for s in (5, 4, 1)),
    # CSAT, Monday, wechat, zh; the customer who gave 2 left before the end
    Interview("csat", 5, "wechat", "zh", MON),
    Interview("csat", 4, "wechat", "zh", MON),
    Interview("csat", 3, "wechat", "zh", MON),
    Interview("csat", 2, "wechat", "zh", MON, "abandoned"),
    # started, never answered
    Interview("nps", None, "web", "zh", SUN, "abandoned"),
    Interview("nps", None, "web", "zh", MON, "active"),
]


async def store(sessions: Sessions) -> None:
    """Write INTERVIEWS as the writer would (answer rows carry the conversation's fields),
    with a text answer and an answer of a custom metric that the dashboard must ignore."""
    async with transaction(sessions) as session:
        customer = await queries.get_or_create_customer(
            session=session, channel="test", external_id="many"
        )
        assert customer.id is not None
        for number, item in enumerate(INTERVIEWS):
            touchpoint, stage, metric, low, high = FLOWS[item.flow]
            conversation = Conversation(
                customer_id=customer.id,
                channel=item.channel,
                flow_id=item.flow,
                flow_version="v1",
                touchpoint=touchpoint,
                journey_stage=stage,
                language=item.language,
                status=item.status,
                started_at=item.at,
                answered_at=item.at if item.score is not None else None,
            )
            session.add(conversation)
            await session.flush()
            assert conversation.id is not None
            common = {
                "conversation_id": conversation.id,
                "flow_id": item.flow,
                "channel": item.channel,
                "language": item.language,
                "touchpoint": touchpoint,
                "journey_stage": stage,
                "created_at": item.at,
            }
            if item.score is not None:
                session.add(
                    Answer(
                        step_id="ask",
                        variable="score",
                        metric=metric,
                        score=item.score,
                        scale_low=low,
                        scale_high=high,
                        **common,
                    )
                )
            if number == 0:
                session.add(Answer(step_id="why", variable="reason", text="很好", **common))
                session.add(
                    Answer(
                        step_id="x",
                        variable="x",
                        metric="effort_custom",
                        score=1,
                        scale_low=1,
                        scale_high=3,
                        **common,
                    )
                )
