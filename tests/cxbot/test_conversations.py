"""The conversation service on SQLite and PostgreSQL: exactly-once, pinning, restarts, hand-off."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from cxbot.closing import expire_idle
from cxbot.conversations import SLA, ConversationService
from flows.registry import BUILTIN_DIR, FlowRegistry
from storage import queries
from storage.database import Sessions, create_engine, create_sessions
from storage.models import Answer, Conversation, Escalation, Event, FlowVersion, Message
from tests.conftest import Clock, Customer, claim, texts

pytestmark = pytest.mark.backends("sqlite", "postgresql")

ASK_SCORE_ZH = "您有多大可能把我们推荐给朋友或同事"
WHY_LOW_ZH = "最让您不满意的是什么"
WHY_HIGH_EN = "What did you like most?"
HANDOFF_ZH = "客服同事会尽快在这里联系您"


async def rows(sessions: Sessions, model: type[Any], *where: Any) -> list[Any]:
    """Every row of a table (matching `where`), in primary-key order."""
    async with sessions() as session:
        statement: Any = select(model).where(*where).order_by(*model.__table__.primary_key)
        return list((await session.exec(statement)).all())


# --- exactly once -------------------------------------------------------------------------


async def test_redelivery_is_answered_once_with_the_same_texts(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("nps", "zh")
    message = customer.incoming("3")
    first = await customer.service.handle(message)
    again = await customer.service.handle(message)

    assert not first.duplicate and again.duplicate
    assert texts(again) == texts(first)
    assert WHY_LOW_ZH in texts(first)[0]
    assert [row_id for row_id, _ in again.messages] == [row_id for row_id, _ in first.messages]
    assert again.events == ()
    answers = await rows(sessions, Answer)
    assert [(a.variable, a.score) for a in answers] == [("score", 3)]
    inbound = await rows(sessions, Message, Message.platform_message_id == "alice-2")
    assert len(inbound) == 1
    # the interview moved on once: the next answer is taken by the reason question
    reply = await customer.says("服务太慢")
    assert HANDOFF_ZH in texts(reply)[0]


async def test_concurrent_duplicate_deliveries_give_one_answer(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("nps", "en")
    message = customer.incoming("9")
    replies = await asyncio.gather(
        customer.service.handle(message), customer.service.handle(message)
    )
    assert sorted(r.duplicate for r in replies) == [False, True]
    assert texts(replies[0]) == texts(replies[1])
    assert [(a.variable, a.score) for a in await rows(sessions, Answer)] == [("score", 9)]
    events = await rows(sessions, Event, Event.name == "metric-recorded")
    assert len(events) == 1


async def test_duplicates_across_two_processes_give_one_answer(
    db_url: str, registry: FlowRegistry, clock: Clock
) -> None:
    """Two services with their own engines (two app processes) receive the same retry."""
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        one, two = (
            ConversationService(sessions=create_sessions(e), registry=registry, clock=clock)
            for e in engines
        )
        await Customer(one, "bob").starts("nps", "zh")
        message = Customer(one, "bob").incoming("10", platform_message_id="retry-1")
        replies = await asyncio.gather(*(s.handle(message) for _ in range(3) for s in (one, two)))
        assert sum(not r.duplicate for r in replies) == 1
        assert len({tuple(texts(r)) for r in replies}) == 1
        sessions = create_sessions(engines[0])
        assert [a.score for a in await rows(sessions, Answer)] == [10]
        inbound = await rows(sessions, Message, Message.platform_message_id == "retry-1")
        assert len(inbound) == 1
    finally:
        for engine in engines:
            await engine.dispose()


# --- version pinning and restarts ---------------------------------------------------------


def _flow_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    shutil.copy(BUILTIN_DIR / "nps.yaml", folder / "nps.yaml")
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new), encoding="utf-8")
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))  # a later mtime even on coarse clocks


async def test_conversation_stays_on_its_flow_version_across_edits_and_restarts(
    tmp_path: Path, db_url: str, clock: Clock
) -> None:
    folder = _flow_dir(tmp_path)
    registry = FlowRegistry([folder])
    assert registry.refresh() == []
    version_a = registry.current("nps").version  # type: ignore[union-attr]
    engine = create_engine(db_url)
    service = ConversationService(sessions=create_sessions(engine), registry=registry, clock=clock)
    alice = Customer(service, "alice")
    await alice.starts("nps", "zh")

    _edit(folder / "nps.yaml", "最让您不满意的是什么？", "哪里做得不好？（B 版）")
    assert registry.refresh() == []
    version_b = registry.current("nps").version  # type: ignore[union-attr]
    assert version_b != version_a

    # a new customer gets version B ...
    bob = Customer(service, "bob")
    await bob.starts("nps", "zh")
    assert "（B 版）" in texts(await bob.says("2"))[0]
    # ... while alice's interview continues on A
    assert WHY_LOW_ZH in texts(await alice.says("2"))[0]
    await engine.dispose()

    # restart: a fresh registry that only knows version B, a fresh engine and service
    carol_registry = FlowRegistry([folder])
    carol_registry.refresh()
    assert carol_registry.version("nps", version_a) is None
    engine = create_engine(db_url)
    sessions = create_sessions(engine)
    try:
        service = ConversationService(sessions=sessions, registry=carol_registry, clock=clock)
        carol = Customer(service, "carol")
        await carol.starts("nps", "zh")
        _edit(folder / "nps.yaml", "哪里做得不好？（B 版）", "哪里做得不好？（C 版）")
        restarted = FlowRegistry([folder])
        restarted.refresh()
        service = ConversationService(sessions=sessions, registry=restarted, clock=clock)
        reply = await Customer(service, "carol").says("1", platform_message_id="carol-x")
        assert "（B 版）" in texts(reply)[0]  # B came back from the FlowVersion table
        assert restarted.version("nps", version_b) is not None
        stored = {v.version for v in await rows(sessions, FlowVersion)}
        assert stored == {version_a, version_b}
        conversations = await rows(sessions, Conversation)
        assert [c.flow_version for c in conversations] == [version_a, version_b, version_b]
    finally:
        await engine.dispose()


async def test_restart_mid_interview_continues_where_it_stopped(
    db_url: str, registry: FlowRegistry, clock: Clock
) -> None:
    engine = create_engine(db_url)
    service = ConversationService(sessions=create_sessions(engine), registry=registry, clock=clock)
    first = await Customer(service, "dora").starts("nps", "en")
    assert "How likely are you to recommend us" in texts(first)[0]
    await engine.dispose()

    clock.advance(minutes=5)
    engine = create_engine(db_url)
    try:
        fresh = FlowRegistry([BUILTIN_DIR])
        fresh.refresh()
        service = ConversationService(sessions=create_sessions(engine), registry=fresh, clock=clock)
        dora = Customer(service, "dora")
        dora.sent = 1  # platform ids continue after the start message
        assert WHY_HIGH_EN in texts(await dora.says("10"))[0]
        clock.advance(minutes=1)
        done = await dora.says("Quick and friendly support")
        assert texts(done) == ["Thank you for your feedback. Have a great day!"]
        assert ("interview-completed", {}) in done.events
        conversations = await rows(create_sessions(engine), Conversation)
        assert [(c.status, c.ended_at) for c in conversations] == [("completed", clock.now)]
    finally:
        await engine.dispose()


# --- what is stored -----------------------------------------------------------------------


async def test_transcript_has_both_directions_in_order_with_reply_links(
    customer: Customer, sessions: Sessions
) -> None:
    start = await customer.starts("nps", "en")
    await customer.says("eight")
    await customer.says("Faster delivery please")
    assert start.conversation_id is not None
    async with sessions() as session:
        transcript = await queries.transcript(
            session=session, conversation_id=start.conversation_id
        )
    shape = [(m.direction, m.author, m.text.splitlines()[0] if m.text else "") for m in transcript]
    assert shape == [
        ("in", "customer", "/start"),
        ("out", "bot", "Hi! How likely are you to recommend us to a friend or colleague?"),
        ("in", "customer", "eight"),
        ("out", "bot", "Thanks! What one thing would make it a higher score?"),
        ("in", "customer", "Faster delivery please"),
        ("out", "bot", "Thank you for your feedback. Have a great day!"),
    ]
    for inbound, outbound in zip(transcript[::2], transcript[1::2], strict=True):
        assert outbound.reply_to_id == inbound.id
        assert inbound.platform_message_id is not None
        assert inbound.delivery_state == "received"
    # the first reply is held by the process that will send it; as nobody sent it here, the
    # later ones queue behind it (a customer's messages leave in order)
    assert [m.delivery_state for m in transcript[1::2]] == ["sending", "pending", "pending"]
    question = transcript[1].payload
    assert [b["payload"] for b in question["buttons"]] == [f"ask_score:{n}" for n in range(11)]
    ids = [m.id or 0 for m in transcript]
    assert ids == sorted(ids)


async def test_answers_carry_metric_scale_touchpoint_channel_and_language(
    service: ConversationService, sessions: Sessions
) -> None:
    tg = Customer(service, "42", channel="telegram")
    await tg.starts("ces", "en")
    await tg.says(kind="button", button="ask_effort:5")
    await tg.says("Fewer forms to fill in")
    done = await tg.says(kind="button", button="resolved:partly")
    assert texts(done) == ["Thank you for your feedback!"]
    answers = await rows(sessions, Answer)
    assert [
        (a.variable, a.metric, a.score, a.scale_low, a.scale_high, a.text) for a in answers
    ] == [
        ("effort", "ces", 5, 1, 7, None),
        ("reason", None, None, None, None, "Fewer forms to fill in"),
        ("resolved", None, None, None, None, "partly"),
    ]
    assert {(a.flow_id, a.channel, a.language) for a in answers} == {("ces", "telegram", "en")}
    assert {a.touchpoint for a in answers} == {"after_support"}
    assert {a.step_id for a in answers} == {"ask_effort", "what_to_improve", "resolved"}


async def test_detractor_gets_an_escalation_with_its_sla(
    customer: Customer, sessions: Sessions, clock: Clock
) -> None:
    await customer.starts("nps", "zh")
    at = clock.advance(minutes=2)
    reply = await customer.says("九分之三")  # not a score: re-asked, nothing escalated
    assert reply.events[0][0] == "answer-rejected"
    reply = await customer.says("3分")
    assert (
        "escalation-requested",
        {"reason": "detractor", "priority": "high", "step_id": "ask_score"},
    ) in reply.events
    escalations = await rows(sessions, Escalation)
    assert [(e.reason, e.priority, e.status) for e in escalations] == [
        ("detractor", "high", "open")
    ]
    assert escalations[0].due_at == at + SLA["high"]
    assert escalations[0].customer_id == reply.customer_id
    await customer.says("等了一个星期")
    assert len(await rows(sessions, Escalation)) == 1  # the handoff step does not add another


async def test_handed_off_conversation_stores_messages_without_bot_replies(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("nps", "en")
    reply = await customer.says("I want to talk to a human")
    assert "bringing in a person" in texts(reply)[0]
    assert [name for name, _ in reply.events] == ["escalation-requested", "interview-handed-off"]

    quiet = await customer.says("Hello? Is anyone there?")
    also_quiet = await customer.says("10")
    assert quiet.messages == () and also_quiet.messages == ()
    assert quiet.conversation_id == reply.conversation_id
    stored = await rows(sessions, Message, Message.conversation_id == reply.conversation_id)
    assert [m.text for m in stored[-2:]] == ["Hello? Is anyone there?", "10"]
    assert [a.score for a in await rows(sessions, Answer)] == []
    conversations = await rows(sessions, Conversation)
    assert [c.status for c in conversations] == ["handed_off"]
    assert [e.reason for e in await rows(sessions, Escalation)] == ["customer-request"]


async def test_reply_timeout_abandons_and_the_keyword_starts_again(
    customer: Customer, service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    await customer.says("feedback")
    clock.advance(minutes=29)
    assert await expire_idle(service) == 0
    clock.advance(minutes=2)  # the nps flow waits 30 minutes
    assert await expire_idle(service) == 1
    assert await expire_idle(service) == 0
    conversations = await rows(sessions, Conversation)
    assert [(c.status, c.ended_at) for c in conversations] == [("abandoned", clock.now)]
    abandoned = await rows(sessions, Event, Event.name == "interview-abandoned")
    assert [e.data for e in abandoned] == [{"reason": "timeout"}]

    late = await customer.says("7")  # a late answer is not taken as a score
    assert late.events == () and len(late.messages) == 1
    assert "“评价”" in texts(late)[0] or "“feedback”" in texts(late)[0]  # the welcome
    restart = await customer.says("feedback")
    assert "How likely are you to recommend us" in texts(restart)[0]
    conversations = await rows(sessions, Conversation)
    assert [c.status for c in conversations] == ["abandoned", "active"]
    assert [a.score for a in await rows(sessions, Answer)] == []


async def test_timeout_noticed_when_the_customer_returns(
    customer: Customer, sessions: Sessions, clock: Clock
) -> None:
    """Without the housekeeping task, the next message still finds the interview expired."""
    await customer.starts("nps", "zh")
    clock.advance(hours=2)
    reply = await customer.says("评价")
    assert ASK_SCORE_ZH in texts(reply)[0]
    conversations = await rows(sessions, Conversation, col(Conversation.id) > 0)
    assert [c.status for c in conversations] == ["abandoned", "active"]


async def test_a_word_that_is_no_trigger_gets_the_welcome(customer: Customer) -> None:
    assert texts(await customer.says("hello")) == ["Hi! Reply “feedback” to take our short survey."]
    assert texts(await customer.says("你好")) == ["您好！回复“评价”即可参与我们的简短调查。"]
    reply = await customer.says("反馈")
    assert ASK_SCORE_ZH in texts(reply)[0]
    assert reply.events[0][0] == "interview-started"


async def test_english_keyword_starts_in_english(customer: Customer) -> None:
    reply = await customer.says("feedback")
    assert texts(reply)[0].startswith("Hi! How likely are you to recommend us")
    assert reply.events[0][1]["language"] == "en"


async def test_unsupported_message_gets_the_polite_text_and_keeps_the_question(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("nps", "zh")
    reply = await customer.says(kind="unsupported")
    assert texts(reply) == ["抱歉，我只能读懂文字消息。请用文字回复。"]
    assert WHY_LOW_ZH in texts(await customer.says("4"))[0]
    english = Customer(customer.service, "erin")
    await english.starts("nps", "en")
    assert texts(await english.says(kind="unsupported")) == [
        "Sorry, I can only read text messages. Please reply in words."
    ]
    assert [a.score for a in await rows(sessions, Answer)] == [4]


async def test_two_customers_interleaved_do_not_interfere(
    service: ConversationService, sessions: Sessions
) -> None:
    zh, en = Customer(service, "zh-user"), Customer(service, "en-user")
    await zh.starts("nps", "zh")
    await en.starts("nps", "en")
    low = await zh.says("2")
    high = await en.says("10")
    assert WHY_LOW_ZH in texts(low)[0]
    assert WHY_HIGH_EN in texts(high)[0]
    assert low.conversation_id != high.conversation_id
    await asyncio.gather(zh.says("太贵了"), en.says("Great people"))
    conversations = {c.id: c for c in await rows(sessions, Conversation)}
    assert conversations[low.conversation_id].status == "handed_off"
    assert conversations[high.conversation_id].status == "completed"
    answers = await rows(sessions, Answer)
    by_conversation = {
        cid: [(a.variable, a.score, a.text) for a in answers if a.conversation_id == cid]
        for cid in conversations
    }
    assert by_conversation == {
        low.conversation_id: [("score", 2, None), ("reason", None, "太贵了")],
        high.conversation_id: [("score", 10, None), ("reason", None, "Great people")],
    }
    assert [e.conversation_id for e in await rows(sessions, Escalation)] == [low.conversation_id]


async def test_a_tapped_button_is_stored_with_its_label(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("ces", "zh")
    await customer.says(kind="button", button="ask_effort:7")
    await customer.says(kind="button", button="resolved:partly")
    stale = await customer.says(kind="button", button="nowhere:1")
    assert texts(stale) == ["您好！回复“评价”即可参与我们的简短调查。"]  # ended: the welcome
    assert stale.events == ()
    inbound = await rows(sessions, Message, Message.direction == "in")
    assert [(m.text, m.payload) for m in inbound] == [
        ("/start", {"command": "start"}),
        ("7", {"button": "ask_effort:7"}),
        ("部分解决", {"button": "resolved:partly"}),
        ("", {"button": "nowhere:1"}),
    ]


# --- internal errors ----------------------------------------------------------------------


async def test_an_internal_error_gets_an_apology_and_an_agent_never_a_traceback(
    sessions: Sessions, clock: Clock, db_url: str
) -> None:
    first = ConversationService(sessions=sessions, registry=_registry(), clock=clock)
    await Customer(first, "carol").starts("nps", "en")
    async with sessions() as session, session.begin():
        for version in await session.exec(select(FlowVersion)):
            await session.delete(version)  # the pinned version can no longer be loaded
    restarted = ConversationService(sessions=sessions, registry=FlowRegistry([]), clock=clock)
    carol = Customer(restarted, "carol")
    carol.sent = 5

    reply = await carol.says("9")

    assert texts(reply) == [
        "Sorry, something went wrong on our side. A colleague has been told and will reply "
        "here soon."
    ]
    assert reply.events == (("service-error", {"escalated": True}),)
    (conversation,) = await rows(sessions, Conversation)
    assert conversation.status == "handed_off"
    (escalation,) = await rows(sessions, Escalation)
    assert (escalation.reason, escalation.priority) == ("internal-error", "high")
    assert escalation.due_at == clock() + SLA["high"]
    kept = await rows(sessions, Message, Message.direction == "in", Message.text == "9")
    assert len(kept) == 1  # the customer's message is not lost
    again = await carol.service.handle(carol.incoming("9", platform_message_id="carol-6"))
    assert again.duplicate and texts(again) == texts(reply)


def _registry() -> FlowRegistry:
    registry = FlowRegistry([BUILTIN_DIR])
    registry.refresh()
    return registry


# --- sending exactly once -----------------------------------------------------------------


async def test_an_outbound_message_is_held_by_its_sender_until_its_lease_runs_out(
    customer: Customer, sessions: Sessions, clock: Clock
) -> None:
    reply = await customer.starts("nps", "en")  # stored already claimed for this process
    ids = [message_id for message_id, _ in reply.messages]
    second_process = ConversationService(sessions=sessions, registry=_registry(), clock=clock)
    assert await claim(second_process, ids) == []
    (row,) = await rows(sessions, Message, col(Message.id).in_(ids))
    assert row.delivery_state == "sending" and row.attempts == 1

    # a redelivery while the first sender is still at it resends nothing ...
    again = await customer.service.handle(customer.incoming(platform_message_id="alice-1"))
    assert again.duplicate and again.undelivered == ()
    # ... but once its lease has run out (it died), the redelivery takes it over and resends
    clock.advance(seconds=customer.service.lease.total_seconds() + 1)
    again = await customer.service.handle(customer.incoming(platform_message_id="alice-1"))
    assert again.undelivered == tuple(ids) and again.to_send() == reply.messages
    assert again.recipient == reply.recipient  # the delivery path needs to know where to
    assert again.held_since == clock.now  # and since when it holds them (its lease)
    assert await claim(second_process, ids) == []  # held by the redelivery now
    clock.advance(seconds=customer.service.lease.total_seconds() + 1)
    assert await claim(second_process, ids) == ids
    (row,) = await rows(sessions, Message, col(Message.id).in_(ids))
    assert row.attempts == 3


async def test_a_platform_id_reused_by_another_customer_gets_nothing_of_the_first(
    service: ConversationService, sessions: Sessions
) -> None:
    alice, mallory = Customer(service, "alice"), Customer(service, "mallory")
    await alice.starts("nps", "en")
    await alice.says("3")  # alice-2
    stolen = await mallory.says("9", platform_message_id="alice-2")
    assert stolen.duplicate and stolen.messages == ()
    assert [a.score for a in await rows(sessions, Answer)] == [3]


async def test_start_in_the_middle_of_an_interview_starts_it_again(
    customer: Customer, sessions: Sessions
) -> None:
    await customer.starts("nps", "en")
    await customer.says("9")
    reply = await customer.says(kind="command", command="start")
    assert "How likely are you to recommend us" in texts(reply)[0]
    assert [name for name, _ in reply.events] == ["interview-abandoned", "interview-started"]
    statuses = [c.status for c in await rows(sessions, Conversation)]
    assert statuses == ["abandoned", "active"]


async def test_after_an_internal_error_the_bot_stays_quiet_and_the_agent_keeps_it(
    customer: Customer, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxbot import conversations

    await customer.starts("nps", "en")
    real_advance = conversations.engine.advance

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the engine")

    monkeypatch.setattr(conversations.engine, "advance", broken)
    apology = await customer.says("9")
    assert texts(apology)[0].startswith("Sorry, something went wrong on our side.")
    monkeypatch.setattr(conversations.engine, "advance", real_advance)

    later = await customer.says("9")  # the bug is gone, but an agent has this customer now
    assert later.messages == ()
    (conversation,) = await rows(sessions, Conversation)
    assert conversation.status == "handed_off"
    assert conversation.state["status"] == "handed_off"
    (escalation,) = await rows(sessions, Escalation)
    assert (escalation.reason, escalation.status) == ("internal-error", "open")
    kept = await rows(sessions, Message, Message.direction == "in", Message.text == "9")
    assert len(kept) == 2


async def test_the_idle_sweep_reads_only_overdue_interviews_and_closes_them_all(
    service: ConversationService, sessions: Sessions, clock: Clock
) -> None:
    """However many interviews are open, every overdue one closes in one sweep, and a sweep
    with nothing overdue reads nothing (an indexed deadline, not a scan of the first 500)."""
    early = [Customer(service, f"early-{n}") for n in range(620)]
    for customer in early:
        await customer.starts("nps", "en")
    clock.advance(minutes=20)
    late = [Customer(service, f"late-{n}") for n in range(30)]
    for customer in late:
        await customer.starts("nps", "en")
    clock.advance(minutes=11)  # early ones waited 31 minutes (timeout 30), late ones 11
    assert await expire_idle(service, batch=100) == 620
    statuses = Counter(c.status for c in await rows(sessions, Conversation))
    assert statuses == {"abandoned": 620, "active": 30}
    async with sessions() as session:
        assert await queries.overdue_conversations(session=session, now=clock.now) == []
    clock.advance(minutes=20)
    assert await expire_idle(service) == 30
