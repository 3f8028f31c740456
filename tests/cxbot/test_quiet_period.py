"""One completed response per customer per flow per quiet period (`quiet_days`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from cxbot.conversations import ConversationService
from flows.registry import FlowRegistry
from storage.database import Sessions
from storage.models import Conversation, Event
from tests.conftest import Clock, Customer, texts

QUIET_FREE = """\
id: pulse
name: {zh: 快速打分, en: Quick score}
touchpoint: after_support
journey_stage: usage
languages: [zh, en]
default_language: en
quiet_days: 0
steps:
  - id: ask
    type: scale
    metric: csat
    save_as: score
    text: {zh: 打个分吧, en: "Your score?"}
    next: [{goto: bye}]
  - id: bye
    type: end
    text: {zh: 谢谢！, en: Thanks!}
"""


async def _completes_nps(customer: Customer) -> None:
    await customer.starts("nps", "en")
    await customer.says("9")
    reply = await customer.says("Quick and friendly")
    assert ("interview-completed", {}) in [(n, {}) for n, _ in reply.events]


async def _statuses(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        rows = (await session.exec(select(Conversation).order_by(col(Conversation.id)))).all()
    return [row.status for row in rows]


async def test_a_restart_within_the_quiet_period_is_declined_politely(
    customer: Customer, sessions: Sessions, clock: Clock
) -> None:
    await _completes_nps(customer)
    until = (clock.now + timedelta(days=30)).date().isoformat()
    clock.advance(days=29)
    again = await customer.starts("nps", "en")
    assert texts(again) == [
        "You took “Would you recommend us?” recently — thank you! You are welcome to take it "
        f"again after {until}."
    ]
    assert [name for name, _ in again.events] == ["interview-skipped"]
    assert await _statuses(sessions) == ["completed"]
    async with sessions() as session:
        skipped = (await session.exec(select(Event).where(Event.name == "interview-skipped"))).all()
    assert [e.data for e in skipped] == [{"flow_id": "nps", "reason": "quiet-period"}]

    clock.advance(days=2)  # 31 days after: welcome again
    later = await customer.starts("nps", "en")
    assert later.events[0][0] == "interview-started"
    assert await _statuses(sessions) == ["completed", "active"]


async def test_an_interview_left_unfinished_may_be_started_again(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("nps", "zh")
    again = await customer.starts("nps", "zh")  # a restart abandons the first one
    assert "interview-started" in [name for name, _ in again.events]
    assert await _statuses(sessions) == ["abandoned", "active"]


async def test_the_note_speaks_the_customers_language(customer: Customer) -> None:
    await customer.starts("nps", "zh")
    await customer.says("10")
    await customer.says("很好")
    again = await customer.starts("nps", "zh")
    assert texts(again)[0].startswith("您最近已经参加过“推荐意愿调查”了")


async def test_a_flow_without_a_quiet_period_may_be_answered_again(
    tmp_path: Path, sessions: Sessions, clock: Clock
) -> None:
    (tmp_path / "pulse.yaml").write_text(QUIET_FREE, encoding="utf-8")
    registry = FlowRegistry([tmp_path])
    assert registry.refresh() == []
    service = ConversationService(sessions=sessions, registry=registry, clock=clock)
    customer = Customer(service, "repeat")
    for _ in range(2):
        await customer.starts("pulse", "en")
        done = await customer.says("4")
        assert "interview-completed" in [name for name, _ in done.events]
    assert await _statuses(sessions) == ["completed", "completed"]
