"""Alert words: where they match, and how the engine hands off on one mid-interview."""

from __future__ import annotations

import pytest

from flows import engine
from flows.events import AnswerRecorded, EscalationRequested, InterviewHandedOff
from flows.matching import DEFAULT_ALERT_WORDS, AlertWords
from flows.state import Inbound
from tests.flows.test_engine import NPS, NPS_EN, NPS_ZH, Chat, flow_from

ALERTS = AlertWords(DEFAULT_ALERT_WORDS)
ALERT_ZH = "您反映的情况需要专人处理，我正在为您转接客服同事，同事会在这里回复您。"
ALERT_EN = (
    "This needs a person from our team: I'm passing your conversation to a colleague, "
    "who will reply here."
)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("我要投诉你们", "投诉"),
        ("我要 投 诉！", "投诉"),
        ("不给退款我就打12315", "退款"),
        ("打12315", "12315"),
        ("call 12315 now", "12315"),
        ("My LAWYER will call you", "lawyer"),
        ("ｌａｗｙｅｒ", "lawyer"),  # full width
        ("Please cancel my   account!", "cancel my account"),
        ("cancel-my-account", "cancel my account"),
        ("I want a refund.", "refund"),
        # negation and jokes are not read: the team sees the case and closes it
        ("not a lawyer joke", "lawyer"),
    ],
)
def test_alert_words_found(text: str, word: str) -> None:
    assert ALERTS.found_in(text) == word


@pytest.mark.parametrize(
    "text",
    [
        "订单123156还没到",  # a longer number is not the hotline
        "order 812315",
        "lawyerly prose",  # English words match whole
        "refunded already, thanks",
        "cancel my accounts page tab",
        "the agent was rude",
        "",
    ],
)
def test_no_alert(text: str) -> None:
    assert ALERTS.found_in(text) is None


def test_an_empty_list_turns_alerts_off() -> None:
    off = AlertWords(["", "  ", "!!"])
    assert not off
    assert off.found_in("投诉 lawyer") is None


class AlertChat(Chat):
    """An interview where the server's alert words are on."""

    def _send(self, inbound: Inbound) -> None:
        outcome = engine.advance(self.flow, self.state, inbound, alerts=ALERTS)
        self.state = outcome.state
        self.turn_events = list(outcome.events)
        self.events.extend(outcome.events)
        self.said.extend(outcome.outbound)


def test_an_alert_word_in_the_score_question_hands_off_at_once() -> None:
    t = AlertChat()
    t.expect_bot(NPS_ZH)
    t.user("我要投诉")
    t.expect_bot(ALERT_ZH)
    t.expect_silence()
    assert t.names == ["escalation-requested", "interview-handed-off"]
    assert t.turn_events[0] == EscalationRequested("alert-word", "urgent", "ask_score")
    assert t.state.status == "handed_off"
    t.user("有人吗？")  # the bot stays silent: an agent has the customer now
    t.expect_silence()
    assert t.turn_events == []


def test_a_usable_answer_holding_an_alert_word_is_kept_before_the_handoff() -> None:
    t = AlertChat(hints=("en",))
    t.expect_bot(NPS_EN)
    t.user("0, my lawyer will hear about this")
    t.expect_bot(ALERT_EN)
    t.expect_silence()
    assert t.state.answers == {"score": 0}
    # the alert, not the detractor rule, is the case's reason: one case, at most
    assert t.all_of(EscalationRequested) == [
        EscalationRequested("alert-word", "urgent", "ask_score")
    ]
    assert t.all_of(InterviewHandedOff) == [InterviewHandedOff("alert-word")]


def test_an_open_answer_with_an_alert_word_is_the_reason_and_goes_to_a_person() -> None:
    t = AlertChat()
    t.expect_bot(NPS_ZH)
    t.user("9")
    t.expect_bot("太好了！您最喜欢的是哪一点？…")
    t.user("客服态度好，不过上次退款太慢")
    t.expect_bot(ALERT_ZH)
    assert t.state.answers == {"score": 9, "reason": "客服态度好，不过上次退款太慢"}
    assert t.state.status == "handed_off"
    assert [e.variable for e in t.all_of(AnswerRecorded) if isinstance(e, AnswerRecorded)] == [
        "score",
        "reason",
    ]


def test_after_an_escalation_rule_an_alert_only_hands_off() -> None:
    flow = flow_from(
        """
        id: two
        name: Two
        touchpoint: test
        journey_stage: usage
        languages: [en]
        default_language: en
        escalation:
          - {when: score <= 6, reason: detractor, priority: high}
        steps:
          - {id: ask, type: scale, metric: nps, save_as: score, text: "Score?"}
          - {id: why, type: open, save_as: why, text: "Why?"}
          - {id: bye, type: end, text: Bye}
        """
    )
    t = AlertChat(flow)
    t.expect_bot("Score?…")
    t.user("2")
    t.expect_bot("Why?")
    t.user("I want a refund")
    t.expect_bot(ALERT_EN)
    assert t.all_of(EscalationRequested) == [EscalationRequested("detractor", "high", "ask")]
    assert t.state.status == "handed_off"


def test_a_choice_named_like_an_alert_word_is_an_answer() -> None:
    flow = flow_from(
        """
        id: wish
        name: Wish
        touchpoint: test
        journey_stage: usage
        languages: [zh]
        default_language: zh
        steps:
          - id: want
            type: choice
            save_as: want
            text: 您希望怎么处理？
            choices:
              - {value: refund, label: 退款}
              - {value: swap, label: 换货}
          - {id: bye, type: end, text: 好的}
        """
    )
    t = AlertChat(flow)
    t.expect_bot("您希望怎么处理？")
    t.user("退款")
    t.expect_bot("好的")
    assert t.state.status == "completed"
    assert t.state.answers == {"want": "refund"}


def test_a_tapped_button_never_alerts() -> None:
    t = AlertChat()
    t.expect_bot(NPS_ZH)
    t.tap("ask_score:3")
    assert t.state.status == "active"
    t.expect_bot("很抱歉让您失望了。最让您不满意的是什么？")


def test_without_alert_words_the_engine_reads_the_message_as_before() -> None:
    t = Chat(NPS)
    t.expect_bot(NPS_ZH)
    t.user("我要投诉")
    t.expect_bot("抱歉，我没看懂。…")
    assert t.state.status == "active"
