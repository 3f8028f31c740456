"""The interview engine, tested as chat transcripts: the customer types or taps, the bot answers."""

from __future__ import annotations

import ast
import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows import engine
from flows.events import (
    AnswerRecorded,
    AnswerRejected,
    EscalationRequested,
    Event,
    InterviewAbandoned,
    InterviewCompleted,
    InterviewHandedOff,
    InterviewStarted,
    LanguageChanged,
    MetricRecorded,
    QuestionSkipped,
)
from flows.loader import LoadedFlow, load_file, load_text
from flows.model import Flow
from flows.registry import BUILTIN_DIR
from flows.safe_yaml import read_yaml
from flows.state import Command, ConversationState, Inbound, Outbound

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
NPS = load_file(BUILTIN_DIR / "nps.yaml")
CES = load_file(BUILTIN_DIR / "ces.yaml")
CSAT = load_file(BUILTIN_DIR / "csat.yaml")

NPS_ZH = "您好！您有多大可能把我们推荐给朋友或同事？\n0 = 完全不可能 · 10 = 非常可能"
NPS_EN = (
    "Hi! How likely are you to recommend us to a friend or colleague?\n"
    "0 = Not at all likely · 10 = Extremely likely"
)
REASK_SCORE_ZH = "抱歉，我没看懂。请回复 0 到 10 之间的一个数字，例如 9。"
REASK_SCORE_EN = "Sorry, I didn't get that. Please reply with a number from 0 to 10, for example 9."
HANDOFF_ZH = "好的，正在为您转接人工客服，请稍候，同事会在这里回复您。"
HANDOFF_EN = "Sure, I'm bringing in a person from our team. They will reply here shortly."


class Chat:
    """One interview as a transcript: `user`/`tap` push, `expect_bot` pops what the bot said."""

    def __init__(
        self,
        loaded: LoadedFlow | Flow = NPS,
        *,
        hints: tuple[str | None, ...] = (),
        variables: dict[str, str] | None = None,
    ) -> None:
        if isinstance(loaded, LoadedFlow):
            self.flow, version = loaded.flow, loaded.version
        else:
            self.flow, version = loaded, "test"
        self.now = T0
        outcome = engine.start(
            self.flow, version=version, at=T0, language_hints=hints, variables=variables
        )
        self.state = outcome.state
        self.turn_events: list[Event] = list(outcome.events)
        self.events: list[Event] = list(outcome.events)
        self.said: list[Outbound] = list(outcome.outbound)

    def _send(self, inbound: Inbound) -> None:
        outcome = engine.advance(self.flow, self.state, inbound)
        self.state = outcome.state
        self.turn_events = list(outcome.events)
        self.events.extend(outcome.events)
        self.said.extend(outcome.outbound)

    def user(self, text: str, *, after: timedelta = timedelta(seconds=10)) -> None:
        self.now += after
        self._send(Inbound(at=self.now, text=text))

    def tap(self, payload: str) -> None:
        self.now += timedelta(seconds=10)
        self._send(Inbound(at=self.now, button=payload))

    def command(self, command: Command) -> None:
        self.now += timedelta(seconds=10)
        self._send(Inbound(at=self.now, command=command))

    def expect_bot(self, text: str) -> Outbound:
        """Pop the oldest unread bot message; `…` at either end matches any prefix/suffix."""
        assert self.said, f"the bot said nothing; expected {text!r}"
        message = self.said.pop(0)
        if text.startswith("…") and text.endswith("…") and len(text) > 1:
            assert text[1:-1] in message.text, (text, message.text)
        elif text.startswith("…"):
            assert message.text.endswith(text[1:]), (text, message.text)
        elif text.endswith("…"):
            assert message.text.startswith(text[:-1]), (text, message.text)
        else:
            assert message.text == text
        return message

    def expect_silence(self) -> None:
        assert self.said == [], [m.text for m in self.said]

    @property
    def names(self) -> list[str]:
        """The names of the events of the last turn."""
        return [event.name for event in self.turn_events]

    def all_of(self, kind: type[Event]) -> list[Event]:
        return [event for event in self.events if isinstance(event, kind)]


def flow_from(yaml_text: str) -> LoadedFlow:
    return load_text(textwrap.dedent(yaml_text), file="test.yaml")


# --- starting ----------------------------------------------------------------------------


def test_start_asks_the_first_question_in_the_default_language() -> None:
    t = Chat()
    first = t.expect_bot(NPS_ZH)
    assert [b.label for b in first.buttons] == [str(n) for n in range(11)]
    assert [b.payload for b in first.buttons] == [f"ask_score:{n}" for n in range(11)]
    assert first.hint == "请回复 0-10 的数字"
    assert first.step_id == "ask_score"
    assert first.as_plain_text() == f"{NPS_ZH}\n请回复 0-10 的数字"
    t.expect_silence()
    assert t.turn_events == [InterviewStarted("nps", NPS.version, "zh")]
    assert (t.state.status, t.state.step_id, t.state.language) == ("active", "ask_score", "zh")


@pytest.mark.parametrize(
    ("hints", "language"),
    [
        (("en-US",), "en"),
        (("EN",), "en"),
        (("zh_Hans",), "zh"),
        (("fr", "en-GB"), "en"),
        ((None, "en"), "en"),
        (("fr",), "zh"),
        ((), "zh"),
    ],
)
def test_language_chosen_from_hints(hints: tuple[str | None, ...], language: str) -> None:
    t = Chat(hints=hints)
    t.expect_bot(NPS_EN if language == "en" else NPS_ZH)
    assert t.state.language == language


# --- nps: branching by score band ------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "step", "question"),
    [
        (0, "why_low", "Sorry we let you down. What went wrong?"),
        (6, "why_low", "Sorry we let you down. What went wrong?"),
        (7, "why_mid", "Thanks! What one thing would make it a higher score?…"),
        (8, "why_mid", "Thanks! What one thing would make it a higher score?…"),
        (9, "why_high", "Wonderful! What did you like most?…"),
        (10, "why_high", "Wonderful! What did you like most?…"),
    ],
)
def test_nps_branches_by_score_band(score: int, step: str, question: str) -> None:
    t = Chat(hints=("en",))
    t.expect_bot(NPS_EN)
    t.tap(f"ask_score:{score}")
    t.expect_bot(question)
    t.expect_silence()
    assert t.state.step_id == step
    assert t.state.answers == {"score": score}
    assert t.turn_events[:2] == [
        AnswerRecorded("ask_score", "score", score, str(score)),
        MetricRecorded("ask_score", "nps", score, 0, 10),
    ]
    detractor = [EscalationRequested("detractor", "high", "ask_score")]
    assert t.turn_events[2:] == (detractor if score <= 6 else [])
    assert t.state.escalated is (score <= 6)


def test_detractor_is_asked_why_then_handed_to_a_person() -> None:
    t = Chat(hints=("en",))
    t.expect_bot(NPS_EN)
    t.tap("ask_score:3")
    t.expect_bot("Sorry we let you down. What went wrong?")
    t.user("the agent was rude")  # mentions "agent" but does not ask for one
    t.expect_bot(
        "Thank you for telling us. A member of our team will follow up here shortly "
        "to put it right."
    )
    t.expect_silence()
    assert t.turn_events == [
        AnswerRecorded("why_low", "reason", "the agent was rude", "the agent was rude"),
        InterviewHandedOff("detractor"),
    ]
    assert t.state.status == "handed_off" and t.state.step_id is None
    assert t.state.answers == {"score": 3, "reason": "the agent was rude"}
    assert t.all_of(EscalationRequested) == [EscalationRequested("detractor", "high", "ask_score")]


def test_promoter_completes_the_interview() -> None:
    t = Chat(hints=("en",))
    t.expect_bot(NPS_EN)
    t.tap("ask_score:9")
    t.expect_bot("Wonderful! What did you like most?\n(reply “skip” to skip)")
    t.user("Fast delivery and a friendly courier")
    t.expect_bot("Thank you for your feedback. Have a great day!")
    t.expect_silence()
    assert t.names == ["answer-recorded", "interview-completed"]
    assert t.state.status == "completed" and t.state.step_id is None
    assert t.state.answers == {"score": 9, "reason": "Fast delivery and a friendly courier"}
    assert t.all_of(EscalationRequested) == []


def test_the_engine_is_quiet_once_handed_off() -> None:
    t = Chat(hints=("en",))
    t.tap("ask_score:2")
    t.user("You lost my parcel twice")
    assert t.state.status == "handed_off"
    t.said.clear()
    handed_off = t.state
    for act in (
        lambda: t.user("hello? anyone there?"),
        lambda: t.user("转人工"),
        lambda: t.user("stop"),
        lambda: t.tap("ask_score:9"),
        lambda: t.command("human"),
    ):
        act()
        t.expect_silence()
        assert t.turn_events == []
        assert t.state == handed_off


def test_finished_interview_is_quiet() -> None:
    t = Chat(hints=("en",))
    t.tap("ask_score:10")
    t.user("skip")
    assert t.state.status == "completed"
    t.said.clear()
    t.user("9")
    t.expect_silence()
    assert t.turn_events == []


# --- typed answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "score"),
    [("9", 9), ("9分", 9), ("九", 9), ("nine", 9), ("10/10", 10), ("０", 0), (" 7 ", 7)],
)
def test_typed_scores(typed: str, score: int) -> None:
    t = Chat()
    t.expect_bot(NPS_ZH)
    t.user(typed)
    assert t.state.answers == {"score": score}
    assert t.turn_events[0] == AnswerRecorded("ask_score", "score", score, typed.strip())
    assert t.state.step_id == ("why_low" if score <= 6 else "why_mid" if score <= 8 else "why_high")


@pytest.mark.parametrize(
    ("typed", "score"),
    [("给你们打8分", 8), ("满分", 10), ("I'd give you 8", 8), ("definitely 9", 9)],
)
def test_scores_typed_in_a_sentence_are_answers(typed: str, score: int) -> None:
    t = Chat()
    t.user(typed)
    assert t.state.answers == {"score": score}


@pytest.mark.parametrize(
    ("hints", "typed", "reply"),
    [
        ((), "7.5", "请回复一个整数（不带小数），0 到 10 之间，例如 9。"),
        ((), "8.5分", "请回复一个整数（不带小数），0 到 10 之间，例如 9。"),
        (
            ("en",),
            "7.5",
            "Please reply with a whole number from 0 to 10 (no decimals), for example 9.",
        ),
    ],
)
def test_a_decimal_score_is_reasked_for_a_whole_number(
    hints: tuple[str, ...], typed: str, reply: str
) -> None:
    t = Chat(hints=hints)
    t.expect_bot(NPS_ZH if not hints else NPS_EN)
    t.user(typed)
    reask = t.expect_bot(reply)
    assert len(reask.buttons) == 11
    assert t.turn_events == [AnswerRejected("ask_score", typed)]
    t.user("8")
    assert t.state.answers == {"score": 8}


def test_invalid_text_is_reasked_and_the_interview_goes_on() -> None:
    t = Chat()
    t.expect_bot(NPS_ZH)
    t.user("一般")
    reask = t.expect_bot(REASK_SCORE_ZH)
    assert [b.payload for b in reask.buttons] == [f"ask_score:{n}" for n in range(11)]
    assert t.turn_events == [AnswerRejected("ask_score", "一般")]
    assert (t.state.status, t.state.step_id, t.state.attempts) == ("active", "ask_score", 1)
    t.user("7 or 8")
    t.expect_bot(REASK_SCORE_ZH)
    assert t.state.attempts == 2
    t.user("8")
    t.expect_bot("谢谢！我们做到哪一点，您会打更高分？\n（回复“跳过”可跳过）")
    assert (t.state.step_id, t.state.attempts) == ("why_mid", 0)
    assert t.state.answers == {"score": 8}


ESCAPE_ZH = "如果不方便回答，可以回复“跳过”跳过这一题，或回复“人工”转人工客服。"
ESCAPE_EN = "If this question doesn't fit, reply “skip” to skip it, or “human” to talk to a person."


def stuck(t: Chat, times: int = 3) -> Outbound:
    """The customer answers `times` times with something that is not a score."""
    for _ in range(times):
        t.said.clear()
        t.user("hmm")
    (reask,) = t.said
    t.said.clear()
    return reask


def test_the_third_reask_offers_to_skip_or_talk_to_a_person() -> None:
    t = Chat()
    t.expect_bot(NPS_ZH)
    for attempt in (1, 2):
        t.user("嗯")
        assert t.expect_bot(REASK_SCORE_ZH).buttons[-1].payload == "ask_score:10", attempt
    t.user("不知道")
    third = t.expect_bot(f"{REASK_SCORE_ZH}\n{ESCAPE_ZH}")
    assert [(b.label, b.payload) for b in third.buttons[-2:]] == [
        ("跳过此题", "ask_score:!skip"),
        ("转人工", "ask_score:!person"),
    ]
    assert len(third.buttons) == 13
    t.user("还是不知道")  # the offer stays on every later re-ask
    assert t.expect_bot(f"{REASK_SCORE_ZH}\n{ESCAPE_ZH}").buttons == third.buttons
    assert t.state.attempts == 4


def test_the_offer_is_in_english_for_an_english_customer() -> None:
    t = Chat(hints=("en",))
    reask = stuck(t)
    assert reask.text == f"{REASK_SCORE_EN}\n{ESCAPE_EN}"
    assert [b.label for b in reask.buttons[-2:]] == ["Skip question", "Ask a person"]


@pytest.mark.parametrize("skip", [("tap", "ask_score:!skip"), ("user", "skip"), ("user", "跳过")])
def test_skipping_moves_on_with_the_answer_unset(skip: tuple[str, str]) -> None:
    t = Chat(hints=("en",))
    stuck(t)
    how, what = skip
    t.tap(what) if how == "tap" else t.user(what)
    assert t.all_of(QuestionSkipped) == [QuestionSkipped("ask_score", "score")]
    assert "score" not in t.state.answers
    assert t.all_of(AnswerRecorded) == [] and t.all_of(MetricRecorded) == []
    # no condition on a skipped score holds, so the last arm of `next` is taken
    assert (t.state.step_id, t.state.attempts) == ("why_high", 0)
    t.user("skip")
    assert t.state.status == "completed"


def test_talking_to_a_person_hands_off_with_the_customers_request() -> None:
    t = Chat(hints=("en",))
    stuck(t)
    t.tap("ask_score:!person")
    t.expect_bot(HANDOFF_EN)
    assert t.turn_events == [
        EscalationRequested("customer-request", "high", "ask_score"),
        InterviewHandedOff("customer-request"),
    ]
    assert t.state.status == "handed_off"


def test_the_offered_words_work_in_a_flow_with_its_own_handoff_words() -> None:
    loaded = flow_from(
        """
        id: own_words
        name: Own words
        touchpoint: test
        journey_stage: usage
        languages: [en]
        default_language: en
        handoff_keywords: [operator]
        steps:
          - id: ask
            type: scale
            range: [1, 5]
            text: How was it?
        """
    )
    t = Chat(loaded)
    t.user("human")  # not a handoff word of this flow: a re-ask
    assert t.state.status == "active"
    stuck(t, 2)
    t.user("human")
    assert t.turn_events[-1] == InterviewHandedOff("customer-request")


@pytest.mark.parametrize("payload", ["ask_score:!skip", "ask_score:!person"])
def test_a_way_out_not_yet_offered_is_reasked(payload: str) -> None:
    t = Chat(hints=("en",))
    stuck(t, 2)
    t.tap(payload)
    assert t.turn_events == [AnswerRejected("ask_score", payload)]
    assert t.state.status == "active"


def test_a_skip_word_not_yet_offered_is_reasked_on_a_scale() -> None:
    t = Chat(hints=("en",))
    stuck(t, 2)
    t.user("skip")
    assert t.turn_events == [AnswerRejected("ask_score", "skip")]


def test_an_answer_wins_over_the_skip_word_it_looks_like() -> None:
    t = Chat(CES)
    t.tap("ask_effort:7")
    t.said.clear()
    stuck(t)
    t.user("没有")  # a label of this choice, and a skip word
    assert t.state.answers["resolved"] == "no"
    assert t.all_of(QuestionSkipped) == []


@pytest.mark.parametrize("payload", ["ask_score:11", "ask_score:-1", "ask_score:nine", "bogus"])
def test_out_of_range_or_forged_buttons_are_reasked(payload: str) -> None:
    t = Chat(hints=("en",))
    t.expect_bot(NPS_EN)
    t.tap(payload)
    t.expect_bot(REASK_SCORE_EN)
    assert t.turn_events == [AnswerRejected("ask_score", payload)]
    assert t.state.answers == {}
    t.tap("ask_score:10")
    assert t.state.answers == {"score": 10}


def test_stale_button_from_an_earlier_question_is_reasked() -> None:
    t = Chat(hints=("en",))
    t.tap("ask_score:8")
    t.expect_bot(NPS_EN)
    t.expect_bot("Thanks! What one thing would make it a higher score?…")
    t.tap("ask_score:3")  # the customer scrolls up and taps the old keyboard
    t.expect_bot("Please tell us in a few words.")
    assert t.turn_events == [AnswerRejected("why_mid", "ask_score:3")]
    assert t.state.answers == {"score": 8}
    assert t.state.step_id == "why_mid" and not t.state.escalated
    t.user("Cheaper shipping")
    t.expect_bot("Thank you for your feedback. Have a great day!")
    assert t.state.answers == {"score": 8, "reason": "Cheaper shipping"}


def test_stale_button_on_a_choice_step_is_reasked() -> None:
    t = Chat(CES, hints=("en",))
    t.tap("ask_effort:7")
    t.said.clear()
    t.tap("ask_effort:1")
    t.expect_bot("Sorry, I didn't get that. Please tap an option or reply with its number.")
    assert t.turn_events == [AnswerRejected("resolved", "ask_effort:1")]
    assert t.state.answers == {"effort": 7} and not t.state.escalated


def test_empty_message_on_an_open_question_is_reasked() -> None:
    t = Chat()
    t.tap("ask_score:2")
    t.said.clear()
    t.user("   ")
    t.expect_bot("请用一句话告诉我们。")
    assert t.turn_events == [AnswerRejected("why_low", "")]
    assert t.state.step_id == "why_low"


# --- language ----------------------------------------------------------------------------


def test_switches_to_english_when_the_customer_writes_english() -> None:
    t = Chat()
    t.expect_bot(NPS_ZH)
    t.tap("ask_score:5")
    t.expect_bot("很抱歉让您失望了。最让您不满意的是什么？")
    t.user("Delivery took three weeks")
    t.expect_bot("Thank you for telling us. A member of our team will follow up here…")
    assert t.turn_events[0] == LanguageChanged("zh", "en")
    assert t.state.language == "en"


def test_switches_to_chinese_when_the_customer_writes_chinese() -> None:
    t = Chat(hints=("en",))
    t.expect_bot(NPS_EN)
    t.user("九分")
    t.expect_bot("太好了！您最喜欢的是哪一点？\n（回复“跳过”可跳过）")
    assert t.turn_events[0] == LanguageChanged("en", "zh")
    assert t.state.language == "zh"


@pytest.mark.parametrize("typed", ["9", "nine", "ok 9", "👍 10"])
def test_numbers_and_short_words_do_not_switch_language(typed: str) -> None:
    t = Chat()
    t.user(typed)
    assert "language-changed" not in t.names
    assert t.state.language == "zh"


def test_a_language_the_flow_does_not_speak_is_not_switched_to() -> None:
    solo = flow_from(
        """\
        id: solo
        name: Solo
        touchpoint: after_support
        journey_stage: usage
        languages: [en]
        default_language: en
        steps:
          - id: why
            type: open
            text: Why?
          - id: bye
            type: end
            text: Bye
        """
    )
    t = Chat(solo)
    t.expect_bot("Why?")
    t.user("太慢了")
    t.expect_bot("Bye")
    assert t.names == ["answer-recorded", "interview-completed"]
    assert t.state.language == "en"


# --- asking for a person, stopping, skipping -----------------------------------------------


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("转人工", "zh"),
        ("我要转人工！", "zh"),
        ("I want to talk to a human", "en"),
        ("/human", "en"),
    ],
)
@pytest.mark.parametrize("where", ["ask_score", "why_mid"])
def test_handoff_keywords_work_at_any_point(message: str, language: str, where: str) -> None:
    t = Chat(hints=("en",))
    if where == "why_mid":
        t.tap("ask_score:7")
    t.said.clear()
    t.user(message)
    t.expect_bot(HANDOFF_ZH if language == "zh" else HANDOFF_EN)
    t.expect_silence()
    assert [n for n in t.names if n != "language-changed"] == [
        "escalation-requested",
        "interview-handed-off",
    ]
    assert t.turn_events[-2:] == [
        EscalationRequested("customer-request", "high", where),
        InterviewHandedOff("customer-request"),
    ]
    assert t.state.status == "handed_off" and t.state.step_id is None


def test_human_command_hands_off() -> None:
    t = Chat()
    t.command("human")
    t.expect_bot(NPS_ZH)
    t.expect_bot(HANDOFF_ZH)
    assert t.state.status == "handed_off"


@pytest.mark.parametrize(
    "answer", ["the agent was rude", "客服态度很差", "a human answered after an hour"]
)
def test_open_answers_mentioning_agents_are_answers_not_handoffs(answer: str) -> None:
    t = Chat(hints=("en",))
    t.tap("ask_score:8")
    t.user(answer)
    assert t.state.answers == {"score": 8, "reason": answer}
    assert t.state.status == "completed"
    assert "interview-handed-off" not in t.names


def test_customer_request_after_an_escalation_does_not_escalate_twice() -> None:
    t = Chat()
    t.tap("ask_score:1")
    t.user("转人工")
    t.expect_bot(NPS_ZH)
    t.expect_bot("很抱歉让您失望了。最让您不满意的是什么？")
    t.expect_bot(HANDOFF_ZH)
    assert t.turn_events == [InterviewHandedOff("customer-request")]
    assert t.all_of(EscalationRequested) == [EscalationRequested("detractor", "high", "ask_score")]


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        ("stop", "OK, this survey has ended. Thank you for your time!"),
        ("STOP!", "OK, this survey has ended. Thank you for your time!"),
        ("停止", "好的，本次调查已结束。感谢您抽出时间！"),
    ],
)
def test_stop_keyword_ends_the_interview(message: str, reply: str) -> None:
    t = Chat(hints=("en",))
    t.expect_bot(NPS_EN)
    t.user(message)
    t.expect_bot(reply)
    assert t.turn_events[-1] == InterviewAbandoned("customer-stopped")
    assert t.state.status == "abandoned" and t.state.step_id is None
    t.user("5")
    t.expect_silence()


def test_stop_command_ends_the_interview() -> None:
    t = Chat()
    t.command("stop")
    t.expect_bot(NPS_ZH)
    t.expect_bot("好的，本次调查已结束。感谢您抽出时间！")
    assert t.turn_events == [InterviewAbandoned("customer-stopped")]


@pytest.mark.parametrize("skip", ["跳过", "skip", "Skip."])
def test_optional_open_question_can_be_skipped(skip: str) -> None:
    t = Chat()
    t.tap("ask_score:9")
    t.said.clear()
    t.user(skip)
    t.expect_bot("感谢您的反馈，祝您生活愉快！")
    assert t.turn_events[0] == AnswerRecorded("why_high", "reason", None, skip)
    assert t.state.answers == {"score": 9, "reason": None}
    assert t.state.status == "completed"


def test_a_required_open_question_takes_skip_as_the_answer() -> None:
    t = Chat(hints=("en",))
    t.tap("ask_score:4")
    t.expect_bot(NPS_EN)
    t.expect_bot("Sorry we let you down. What went wrong?")  # no skip hint: it is required
    t.user("skip")
    assert t.state.answers == {"score": 4, "reason": "skip"}
    assert t.state.status == "handed_off"


# --- the other shipped flows: choice and handoff steps, escalation rules -------------------


def test_ces_high_effort_escalates_once_and_hands_off() -> None:
    t = Chat(CES, hints=("en",))
    first = t.expect_bot('Hi! About your recent support request: "The team made it easy…')
    assert [b.payload for b in first.buttons] == [f"ask_effort:{n}" for n in range(1, 8)]
    assert first.text.endswith("\n1 = Strongly disagree · 7 = Strongly agree")
    t.tap("ask_effort:2")
    t.expect_bot("Sorry it took so much effort. Which part was hardest?")
    assert t.turn_events == [
        AnswerRecorded("ask_effort", "effort", 2, "2"),
        MetricRecorded("ask_effort", "ces", 2, 1, 7),
        EscalationRequested("high-effort", "high", "ask_effort"),
    ]
    t.user("Finding the right form took forever")
    t.expect_bot("Thank you. A member of our support team will contact you here shortly.")
    assert t.turn_events[-1] == InterviewHandedOff("high-effort")
    assert len(t.all_of(EscalationRequested)) == 1


def test_ces_choice_step_by_number_label_and_button() -> None:
    t = Chat(CES)
    t.tap("ask_effort:5")
    t.expect_bot("您好！关于您最近的客服工单…")
    choice = t.expect_bot("谢谢！有什么能让下次更省事？\n（回复“跳过”可跳过）")
    assert choice.buttons == ()
    t.user("跳过")
    question = t.expect_bot("您的问题现在解决了吗？")
    assert [(b.label, b.payload) for b in question.buttons] == [
        ("已解决", "resolved:yes"),
        ("部分解决", "resolved:partly"),
        ("没有", "resolved:no"),
    ]
    assert question.hint == "请回复选项前的数字：\n1. 已解决\n2. 部分解决\n3. 没有"
    t.user("也许吧")
    reask = t.expect_bot("抱歉，我没看懂。请点选一个选项，或回复它前面的数字。")
    assert reask.buttons == question.buttons and reask.hint == question.hint
    t.user("2")
    t.expect_bot("感谢您的反馈，祝您一切顺利！")
    assert t.state.answers == {"effort": 5, "reason": None, "resolved": "partly"}
    assert t.state.status == "completed"
    assert t.all_of(EscalationRequested) == []


@pytest.mark.parametrize("answer", ["No", "没有", "3"])
def test_ces_unresolved_goes_to_a_person(answer: str) -> None:
    t = Chat(CES, hints=("en",))
    t.tap("ask_effort:7")
    t.said.clear()
    t.user(answer)
    assert t.state.answers["resolved"] == "no"
    assert t.turn_events[-2:] == [
        EscalationRequested("unresolved", "normal", "to_agent_unresolved"),
        InterviewHandedOff("unresolved"),
    ]
    assert t.said[-1].text in (
        "Understood. A colleague will pick this up and reply here soon.",
        "明白了，我们会请客服同事继续跟进，稍后在这里回复您。",
    )


def test_ces_resolved_by_tapping() -> None:
    t = Chat(CES, hints=("en",))
    t.tap("ask_effort:7")
    t.tap("resolved:yes")
    assert t.state.answers == {"effort": 7, "resolved": "yes"}
    assert t.state.status == "completed"


def test_csat_dissatisfied_branch_with_choice_and_skip() -> None:
    t = Chat(CSAT, hints=("en",))
    t.expect_bot("Hi! Your order from our store has been delivered. How satisfied…")
    t.tap("csat_score:1")  # not this step's buttons
    t.expect_bot("Sorry, I didn't get that. Please reply with a number from 1 to 5, for example 4.")
    t.tap("ask_satisfaction:2")
    t.expect_bot("Sorry about that! What was the main problem?")
    assert t.turn_events[-1] == EscalationRequested("dissatisfied", "normal", "ask_satisfaction")
    t.user("it arrived late")
    t.expect_bot("Could you tell us a bit more? We will act on it.\n(reply “skip” to skip)")
    t.user("skip")
    t.expect_bot("We're very sorry. A member of our team will contact you here shortly…")
    assert t.state.answers == {"satisfaction": 2, "problem": "late", "reason": None}
    assert t.state.status == "handed_off"
    assert len(t.all_of(EscalationRequested)) == 1


def test_csat_neutral_score_asks_what_went_wrong_but_does_not_escalate() -> None:
    t = Chat(CSAT, hints=("en",))
    t.tap("ask_satisfaction:3")
    t.tap("what_went_wrong:damaged")
    t.user("The box was crushed")
    assert t.said[-1].text == "Thank you for your rating. We look forward to serving you again!"
    assert t.state.status == "completed"
    assert t.all_of(EscalationRequested) == []


# --- message steps, scales without a metric, variables --------------------------------------


CUSTOM = """\
id: custom
name: Custom
touchpoint: after_support
journey_stage: usage
languages: [en]
default_language: en
variables:
  brand: Acme
steps:
  - id: hello
    type: message
    text: Hi {customer_name}, thanks for choosing {brand}.
  - id: rating
    type: scale
    range: [1, 3]
    reask: Just 1, 2 or 3 please.
    text: How was it? {{1-3}}
  - id: echo
    type: message
    text: You gave {rating} in {language} via {channel}.
  - id: bye
    type: end
    text: Bye!
"""


def test_message_steps_run_without_waiting_and_fill_variables() -> None:
    t = Chat(flow_from(CUSTOM), variables={"customer_name": "Ann", "channel": "telegram"})
    t.expect_bot("Hi Ann, thanks for choosing Acme.")
    rating = t.expect_bot("How was it? {1-3}")
    assert [b.payload for b in rating.buttons] == ["rating:1", "rating:2", "rating:3"]
    t.expect_silence()
    t.user("5")
    t.expect_bot("Just 1, 2 or 3 please.")
    t.user("2")
    t.expect_bot("You gave 2 in en via telegram.")
    t.expect_bot("Bye!")
    t.expect_silence()
    # a scale without a metric records the answer but no metric
    assert t.names == ["answer-recorded", "interview-completed"]


def test_last_step_without_end_completes_the_interview() -> None:
    loaded = flow_from(
        """\
        id: short
        name: Short
        touchpoint: after_support
        journey_stage: usage
        languages: [en]
        default_language: en
        steps:
          - id: why
            type: open
            text: Why?
        """
    )
    t = Chat(loaded)
    t.user("Because")
    t.expect_bot("Why?")
    t.expect_silence()
    assert t.names == ["answer-recorded", "interview-completed"]
    assert t.state.status == "completed"


def test_runaway_message_loop_is_stopped_by_the_step_limit() -> None:
    # the loader refuses such a loop (see test_loader); the engine must survive one anyway
    data, _ = read_yaml(
        textwrap.dedent(
            """\
            id: loop
            name: Loop
            touchpoint: after_support
            journey_stage: usage
            languages: [en]
            default_language: en
            steps:
              - id: ping
                type: message
                text: ping
                next: pong
              - id: pong
                type: message
                text: pong
                next: ping
            """
        )
    )
    t = Chat(Flow.model_validate(data))
    assert len(t.said) == engine.MAX_STEPS
    assert [m.text for m in t.said[:3]] == ["ping", "pong", "ping"]
    assert t.turn_events[-1] == InterviewAbandoned("step-limit")
    assert t.state.status == "abandoned"


# --- time --------------------------------------------------------------------------------


def test_expire_before_the_timeout_does_nothing() -> None:
    t = Chat()
    at = T0 + timedelta(minutes=30)  # nps times out after 30m of silence
    assert not engine.is_expired(t.flow, t.state, at)
    outcome = engine.expire(t.flow, t.state, at)
    assert outcome.state == t.state
    assert outcome.outbound == () and outcome.events == ()


def test_expire_after_the_timeout_abandons_silently() -> None:
    t = Chat()
    at = T0 + timedelta(minutes=30, seconds=1)
    assert engine.is_expired(t.flow, t.state, at)
    outcome = engine.expire(t.flow, t.state, at)
    assert outcome.outbound == ()
    assert outcome.events == (InterviewAbandoned("timeout"),)
    assert outcome.state.status == "abandoned" and outcome.state.step_id is None


def test_timeout_counts_from_the_last_message() -> None:
    t = Chat()
    t.user("9", after=timedelta(minutes=20))
    assert not engine.is_expired(t.flow, t.state, T0 + timedelta(minutes=45))
    assert engine.is_expired(t.flow, t.state, T0 + timedelta(minutes=50, seconds=1))


def test_a_late_reply_finds_the_interview_abandoned() -> None:
    t = Chat()
    t.said.clear()
    t.user("9", after=timedelta(hours=1))
    t.expect_silence()
    assert t.turn_events == [InterviewAbandoned("timeout")]
    assert t.state.status == "abandoned" and t.state.answers == {}


def test_finished_interviews_never_expire() -> None:
    t = Chat()
    t.tap("ask_score:10")
    t.user("skip")
    later = t.now + timedelta(days=3)
    assert not engine.is_expired(t.flow, t.state, later)
    assert engine.expire(t.flow, t.state, later).events == ()


# --- state -------------------------------------------------------------------------------


def test_state_survives_a_json_round_trip_mid_interview() -> None:
    t = Chat(CES, hints=("en",), variables={"customer_name": "李雷", "channel": "wechat"})
    t.tap("ask_effort:3")
    stored = json.dumps(t.state.to_json(), ensure_ascii=False)
    restored = ConversationState.from_json(json.loads(stored))
    assert restored == t.state
    assert restored.escalated and restored.answers == {"effort": 3}
    assert restored.last_activity_at.tzinfo is not None

    inbound = Inbound(at=t.now + timedelta(seconds=5), text="The phone menu")
    assert engine.advance(t.flow, restored, inbound) == engine.advance(t.flow, t.state, inbound)


def test_advance_does_not_change_the_state_it_was_given() -> None:
    t = Chat()
    before = t.state
    snapshot = before.to_json()
    t.tap("ask_score:4")
    assert before.to_json() == snapshot
    assert t.state is not before


def test_event_names_are_stable() -> None:
    assert {
        kind.name
        for kind in (
            InterviewStarted,
            AnswerRecorded,
            MetricRecorded,
            AnswerRejected,
            LanguageChanged,
            EscalationRequested,
            InterviewHandedOff,
            InterviewCompleted,
            InterviewAbandoned,
        )
    } == {
        "interview-started",
        "answer-recorded",
        "metric-recorded",
        "answer-rejected",
        "language-changed",
        "escalation-requested",
        "interview-handed-off",
        "interview-completed",
        "interview-abandoned",
    }
    assert EscalationRequested("detractor", "high", "ask_score").data() == {
        "reason": "detractor",
        "priority": "high",
        "step_id": "ask_score",
    }


# --- purity ------------------------------------------------------------------------------

FLOWS_DIR = Path(engine.__file__).parent
IMPURE = {"sqlalchemy", "sqlmodel", "fastapi", "telegram", "wechatpy", "storage", "bot", "cxbot"}
IMPURE |= {"openai", "httpx", "requests", "aiohttp", "socket", "subprocess"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(FLOWS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_flows_modules_do_not_import_io_layers(path: Path) -> None:
    roots = {name.split(".")[0] for name in _imported_modules(path)}
    assert roots & IMPURE == set()


def test_the_import_check_sees_imports() -> None:
    modules = _imported_modules(FLOWS_DIR / "engine.py")
    assert {"datetime", "flows.conditions", "flows.state"} <= modules


@pytest.mark.parametrize("path", sorted(FLOWS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_flows_modules_never_read_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    clock = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
    calls = [
        ast.unparse(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in clock
    ]
    assert calls == []


SKIPPABLE_REASON = """\
id: skippable
name: Skippable
touchpoint: after_support
journey_stage: usage
languages: [en]
default_language: en
steps:
  - id: score
    type: scale
    range: [1, 3]
    save_as: score
    text: How was it?
    next:
      - if: score == 1
        goto: bye
      - goto: why
  - id: why
    type: open
    save_as: reason
    optional: true
    text: Why?
    next: bye
  - id: bye
    type: end
    text: Thanks[{reason}]
"""


@pytest.mark.parametrize(
    ("answers", "bye"),
    [
        (["2", "skip"], "Thanks[]"),  # asked, and skipped: the answer is None
        (["1"], "Thanks[]"),  # never asked on this path: no answer at all
        (["2", "slow"], "Thanks[slow]"),  # the control: an answer is filled in
    ],
)
def test_a_skipped_or_unasked_answer_renders_as_empty_text(answers: list[str], bye: str) -> None:
    t = Chat(flow_from(SKIPPABLE_REASON))
    for answer in answers:
        t.user(answer)
    assert t.state.status == "completed"
    assert t.said[-1].text == bye
    assert all("{reason}" not in m.text and "None" not in m.text for m in t.said)
