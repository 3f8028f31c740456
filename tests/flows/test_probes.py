"""Adaptive probing in the pure engine: a vague open answer on a step with `probe` is kept and
the step's follow-up is asked (with `probe-requested` for the service), up to its limit; a
concrete answer moves on; no probe without the key. The shipped flows probe their "why" steps
after a low or middling score (one follow-up, then the interview moves on)."""

from __future__ import annotations

import pytest

from flows.events import AnswerRecorded, InterviewHandedOff, ProbeRequested
from flows.loader import LoadedFlow
from tests.flows.test_engine import CES, CSAT, NPS, Chat, flow_from

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


def test_a_declined_answer_is_not_probed() -> None:
    # "skip" on a required question is kept as the answer, but the customer said no: not again
    t = Chat(probed(), hints=("en",))
    t.user("2")
    t.user("skip")
    assert t.all_of(ProbeRequested) == []
    assert t.said[-1].text == "Thanks!"


# ---- the shipped flows ----------------------------------------------------------------------

NPS_PROBE = {
    "zh": "能具体说说是哪方面吗？比如物流、商品、价格还是客服，我们好尽快改进。",
    "en": "Could you say a little more? "
    "Was it the delivery, the product, the price or our service?",
}
NPS_HANDOFF = {
    "zh": "谢谢您告诉我们。客服同事会尽快在这里联系您，把问题解决好。",
    "en": "Thank you for telling us. A member of our team will follow up here shortly to put it "
    "right.",
}


@pytest.mark.parametrize(
    ("language", "vague", "second"),
    [
        ("zh", "不好", "价格太贵了"),
        ("zh", "一般般", "还是不好"),  # vague again: no second follow-up
        ("en", "bad", "the courier left it in the rain"),
        ("en", "meh", "meh"),
    ],
)
def test_the_shipped_nps_probes_a_vague_detractor_once(
    language: str, vague: str, second: str
) -> None:
    t = Chat(NPS, hints=(language,))
    t.said.clear()
    t.tap("ask_score:3")
    t.expect_bot("很抱歉让您失望了。…" if language == "zh" else "Sorry we let you down.…")
    t.user(vague)
    follow_up = t.expect_bot(NPS_PROBE[language])
    assert follow_up.step_id == "why_low" and follow_up.buttons == ()
    (event,) = t.all_of(ProbeRequested)
    assert (event.step_id, event.answer, event.score, event.language) == (
        "why_low",
        vague,
        3,
        language,
    )
    assert event.generate and event.instructions and event.fallback == NPS_PROBE[language]
    assert t.state.status == "active"
    t.user(second)
    t.expect_bot(NPS_HANDOFF[language])
    t.expect_silence()
    assert t.state.status == "handed_off"
    assert len(t.all_of(ProbeRequested)) == 1
    assert t.state.answers["reason"] == second
    assert len(t.all_of(InterviewHandedOff)) == 1


@pytest.mark.parametrize(
    ("language", "answer"),
    [("zh", "客服回复太慢了，等了三天"), ("en", "The parcel came two weeks late")],
)
def test_the_shipped_nps_does_not_probe_a_concrete_reason(language: str, answer: str) -> None:
    t = Chat(NPS, hints=(language,))
    t.tap("ask_score:2")
    t.user(answer)
    assert t.all_of(ProbeRequested) == []
    assert t.said[-1].text == NPS_HANDOFF[language]
    assert t.state.status == "handed_off"


def test_the_shipped_nps_probes_a_vague_passive_once_and_not_a_promoter() -> None:
    passive = Chat(NPS, hints=("zh",))
    passive.tap("ask_score:7")
    passive.user("还行")
    assert passive.said[-1].text == (
        "方便说得再具体一点吗？比如速度、价格或服务，哪方面最值得我们改进？"
    )
    passive.user("发货再快一点")
    assert passive.said[-1].text == "感谢您的反馈，祝您生活愉快！"
    assert passive.state.status == "completed"
    skipped = Chat(NPS, hints=("en",))
    skipped.tap("ask_score:8")
    skipped.user("skip")  # an optional question: skipped, not probed
    assert skipped.all_of(ProbeRequested) == []
    assert skipped.state.status == "completed"
    # a promoter's "great" is praise enough: no follow-up on a happy customer's way out
    promoter = Chat(NPS, hints=("en",))
    promoter.tap("ask_score:10")
    promoter.user("great")
    assert promoter.all_of(ProbeRequested) == []
    assert promoter.said[-1].text == "Thank you for your feedback. Have a great day!"


def test_the_shipped_ces_and_csat_probe_their_reason_steps_once() -> None:
    ces = Chat(CES, hints=("en",))
    ces.tap("ask_effort:2")
    ces.user("annoying")
    assert ces.said[-1].text == (
        "Which step was it? Reaching us, waiting for a reply, or the forms and paperwork?"
    )
    ces.user("still annoying")
    assert ces.state.status == "handed_off"
    middling = Chat(CES, hints=("zh",))
    middling.tap("ask_effort:5")
    middling.user("一般")
    assert middling.said[-1].text == "能具体一点吗？比如回复更快、步骤更少，还是一次就把问题解决？"
    middling.user("回复再快一点就好")
    assert middling.said[-1].step_id == "resolved"
    csat = Chat(CSAT, hints=("zh",))
    csat.tap("ask_satisfaction:1")
    csat.tap("what_went_wrong:late")
    csat.user("太差了")
    assert csat.said[-1].text == "方便再多说一点吗？比如晚了多久、哪里坏了，或具体发生了什么？"
    csat.user("差")
    assert csat.state.status == "handed_off"
    assert [e.step_id for e in csat.all_of(ProbeRequested)] == ["details"]
    assert [e.step_id for e in ces.all_of(ProbeRequested)] == ["what_was_hard"]
