"""Adaptive probing in the pure engine: a vague open answer on a step with `probe` is kept and
the step's follow-up is asked (with `probe-requested` for the service), up to its limit; a
concrete answer moves on; no probe without the key."""

from __future__ import annotations

from flows.events import AnswerRecorded, ProbeRequested
from flows.loader import LoadedFlow
from tests.flows.test_engine import Chat, flow_from

PROBED = """\
    id: probed
    name: {zh: 调查, en: Survey}
    touchpoint: after_support
    journey_stage: usage
    languages: [zh, en]
    default_language: zh
    steps:
      - id: ask_score
        type: scale
        metric: nps
        save_as: score
        text: {zh: 您会推荐我们吗？, en: "Would you recommend us?"}
      - id: why
        type: open
        save_as: reason
        text: {zh: 为什么？, en: "Why?"}
        probe:
          text: {zh: 能具体说说是哪方面吗？, en: "Could you tell us what exactly?"}
          instructions: Ask about delivery or staff.
          limit: LIMIT
      - id: bye
        type: end
        text: {zh: 谢谢！, en: Thanks!}
"""


def probed(limit: int = 1) -> LoadedFlow:
    return flow_from(PROBED.replace("LIMIT", str(limit)))


def test_a_vague_answer_is_kept_and_the_follow_up_asked() -> None:
    t = Chat(probed())
    t.said.clear()
    t.user("3")
    t.expect_bot("为什么？")
    t.user("不好")
    follow_up = t.expect_bot("能具体说说是哪方面吗？")
    assert follow_up.step_id == "why"
    assert t.names == ["answer-recorded", "probe-requested"]
    (event,) = t.all_of(ProbeRequested)
    assert event == ProbeRequested(
        step_id="why",
        question="为什么？",
        answer="不好",
        score=3,
        language="zh",
        fallback="能具体说说是哪方面吗？",
        generate=True,
        instructions="Ask about delivery or staff.",
        max_chars=120,
    )
    t.user("快递慢了一个星期")
    t.expect_bot("谢谢！")
    answers = [e.value for e in t.all_of(AnswerRecorded) if isinstance(e, AnswerRecorded)]
    assert answers == [3, "不好", "快递慢了一个星期"]


def test_a_concrete_answer_is_not_probed() -> None:
    t = Chat(probed(), hints=("en",))
    t.said.clear()
    t.user("4")
    t.expect_bot("Why?")
    t.user("the courier lost my parcel and nobody called back")
    t.expect_bot("Thanks!")
    assert t.all_of(ProbeRequested) == []


def test_the_limit_bounds_the_follow_ups() -> None:
    t = Chat(probed(limit=1), hints=("en",))
    t.user("2")
    t.user("bad")
    t.user("meh")  # vague again: the limit is reached, the interview moves on
    assert len(t.all_of(ProbeRequested)) == 1
    assert t.said[-1].text == "Thanks!"
    two = Chat(probed(limit=2), hints=("en",))
    two.user("2")
    two.user("bad")
    two.user("meh")
    two.user("the app crashed at checkout")
    assert len(two.all_of(ProbeRequested)) == 2
    assert two.said[-1].text == "Thanks!"


def test_without_probe_a_vague_answer_moves_on() -> None:
    t = Chat(flow_from(PROBED.replace("LIMIT", "1").split("        probe:")[0] + BYE))
    t.user("3")
    t.user("不好")
    assert t.all_of(ProbeRequested) == []
    assert t.said[-1].text == "谢谢！"


def test_state_keeps_the_count_across_a_restart_of_the_process() -> None:
    t = Chat(probed(), hints=("en",))
    t.user("2")
    t.user("bad")
    stored = t.state.to_json()
    assert stored["probes"] == 1
    assert type(t.state).from_json(stored) == t.state


BYE = """\
      - id: bye
        type: end
        text: {zh: 谢谢！, en: Thanks!}
"""
