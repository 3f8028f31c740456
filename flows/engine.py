"""The interview engine: a pure function of (flow, state, inbound) -> Outcome.

No I/O and no clock: the time arrives with the inbound message. An answer that cannot
be used is a normal outcome (a re-ask), never an exception.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flows import language as languages
from flows import texts
from flows.analysis import is_vague
from flows.conditions import evaluate
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
    ProbeRequested,
    QuestionSkipped,
)
from flows.matching import (
    DEFAULT_HANDOFF_KEYWORDS,
    SKIP_KEYWORDS,
    STOP_KEYWORDS,
    AlertWords,
    match_choice,
    matches_keyword,
)
from flows.model import (
    ChoiceStep,
    EndStep,
    Flow,
    HandoffStep,
    Localized,
    MessageStep,
    OpenStep,
    ScaleStep,
    Step,
    answer_name,
    scale_range,
)
from flows.scores import is_fractional, parse_score
from flows.state import Button, ConversationState, Inbound, Outbound, Outcome

MAX_STEPS = 50
"""Steps run for one inbound message before the engine stops a runaway loop."""
ESCAPE_AFTER = 3
"""Unusable answers to one question after which the re-ask offers a way out: skip the
question or talk to a person (buttons, and the skip and handoff words)."""
SKIP = "!skip"
PERSON = "!person"
"""Button values of the way out; `!` is in no choice value and no score."""


class _Turn:
    """Collects what one call produces while the state is threaded through."""

    def __init__(self, flow: Flow, state: ConversationState) -> None:
        self.flow = flow
        self.state = state
        self.outbound: list[Outbound] = []
        self.events: list[Event] = []

    def outcome(self) -> Outcome:
        return Outcome(self.state, tuple(self.outbound), tuple(self.events))

    def names(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: texts.pick(value, self.state.language, self.flow.default_language)
            for name, value in self.flow.variables.items()
        }
        values.update(customer_name="", channel="")
        values.update(self.state.variables)
        values.update(self.state.answers)
        values["language"] = self.state.language
        return values

    def say(self, text: Localized) -> str:
        chosen = texts.pick(text, self.state.language, self.flow.default_language)
        return texts.fill(chosen, self.names())

    def builtin(self, key: str, **values: Any) -> str:
        return texts.builtin(key, self.state.language, **values)


def start(
    flow: Flow,
    *,
    version: str,
    at: datetime,
    language_hints: tuple[str | None, ...] = (),
    variables: dict[str, str] | None = None,
) -> Outcome:
    """Begin an interview: pick the language and run up to the first question."""
    language = languages.choose(flow.languages, flow.default_language, *language_hints)
    state = ConversationState(
        flow_id=flow.id,
        flow_version=version,
        language=language,
        started_at=at,
        last_activity_at=at,
        variables=dict(variables or {}),
    )
    turn = _Turn(flow, state)
    turn.events.append(InterviewStarted(flow.id, version, language))
    _run_from(turn, flow.steps[0].id)
    return turn.outcome()


def is_expired(flow: Flow, state: ConversationState, at: datetime) -> bool:
    """True when an active interview waited longer than the flow's reply timeout."""
    idle = (at - state.last_activity_at).total_seconds()
    return state.status == "active" and idle > flow.timeout_seconds


def expire(flow: Flow, state: ConversationState, at: datetime) -> Outcome:
    """Close an idle interview as abandoned (no message: the customer has gone)."""
    if not is_expired(flow, state, at):
        return Outcome(state)
    closed = state.evolve(status="abandoned", step_id=None)
    return Outcome(closed, (), (InterviewAbandoned("timeout"),))


def advance(
    flow: Flow, state: ConversationState, inbound: Inbound, *, alerts: AlertWords | None = None
) -> Outcome:
    """Take one customer message and run the interview until it waits again.

    A typed message holding one of `alerts` (the server's alert words) hands the customer
    to a person at once, after keeping it as the answer to the open question if it is one.
    """
    if state.status == "active" and is_expired(flow, state, inbound.at):
        return expire(flow, state, inbound.at)
    if state.status != "active":
        return Outcome(state)  # handed off or finished: the engine stays quiet
    turn = _Turn(flow, state.evolve(last_activity_at=inbound.at))
    text = (inbound.text or "").strip()

    if text and not inbound.button:
        detected = languages.detect(text)
        if detected in flow.languages and detected != turn.state.language:
            turn.events.append(LanguageChanged(turn.state.language, detected))
            turn.state = turn.state.evolve(language=detected)

    if inbound.command == "stop" or (text and matches_keyword(text, STOP_KEYWORDS)):
        turn.outbound.append(Outbound(turn.builtin("stopped")))
        turn.events.append(InterviewAbandoned("customer-stopped"))
        turn.state = turn.state.evolve(status="abandoned", step_id=None)
        return turn.outcome()

    handoff_words = flow.handoff_keywords or DEFAULT_HANDOFF_KEYWORDS
    if inbound.command == "human" or (text and matches_keyword(text, handoff_words)):
        turn.outbound.append(Outbound(turn.builtin("handoff")))
        _hand_off(turn, "customer-request", "high", turn.state.step_id)
        return turn.outcome()

    if turn.state.step_id is None:  # nothing asked (should not happen while active)
        return turn.outcome()
    step = flow.step(turn.state.step_id)
    if alerts and text and inbound.button is None and _alerted(turn, step, inbound, text, alerts):
        return turn.outcome()
    if turn.state.attempts >= ESCAPE_AFTER and _took_the_way_out(turn, step, inbound, text):
        return turn.outcome()
    value = _read_answer(step, inbound, text)
    if value is _INVALID:
        turn.events.append(AnswerRejected(step.id, inbound.button or text))
        turn.state = turn.state.evolve(attempts=turn.state.attempts + 1)
        turn.outbound.append(_reask(turn, step, text if inbound.button is None else ""))
        return turn.outcome()
    _record(turn, step, value, text)
    if isinstance(step, OpenStep) and isinstance(value, str) and _probes(turn, step, value):
        return turn.outcome()
    _run_from(turn, _next_step(turn, step))
    return turn.outcome()


def _probes(turn: _Turn, step: OpenStep, answer: str) -> bool:
    """Ask the same question once more, in other words, when the answer is too vague to act
    on and the step allows a follow-up (the service may have it worded by the model). A
    customer who declined ("跳过", "skip", "没有" on a required question) is not asked again."""
    probe = step.probe
    if probe is None or turn.state.probes >= probe.limit or not is_vague(answer):
        return False
    if matches_keyword(answer, SKIP_KEYWORDS):
        return False
    if turn.state.status != "active":
        return False
    fallback = turn.say(probe.text)
    turn.state = turn.state.evolve(probes=turn.state.probes + 1)
    turn.outbound.append(Outbound(fallback, (), "", step.id))
    turn.events.append(
        ProbeRequested(
            step_id=step.id,
            question=turn.say(step.text),
            answer=answer,
            score=_score(turn),
            language=turn.state.language,
            fallback=fallback,
            generate=probe.generate,
            instructions=probe.instructions,
            max_chars=probe.max_chars,
        )
    )
    return True


def _score(turn: _Turn) -> int | None:
    """The interview's first score so far (the one a follow-up is about)."""
    for step in turn.flow.steps:
        if isinstance(step, ScaleStep):
            value = turn.state.answers.get(answer_name(step))
            if isinstance(value, int):
                return value
    return None


def _alerted(turn: _Turn, step: Step, inbound: Inbound, text: str, alerts: AlertWords) -> bool:
    """Hand off when the message holds an alert word (keeping it as the open question's
    answer if it is one); a typed choice is an answer, even one named like an alert word."""
    if alerts.found_in(text) is None:
        return False
    value = _read_answer(step, inbound, text)
    if isinstance(step, ChoiceStep) and value is not _INVALID:
        return False  # the flow offers "退款" as a choice: choosing it is no alarm
    if not turn.state.escalated:  # the alert is the reason, not a rule the answer meets
        turn.events.append(EscalationRequested("alert-word", alerts.priority, step.id))
        turn.state = turn.state.evolve(escalated=True)
    if value is not _INVALID:
        _record(turn, step, value, text)
    turn.outbound.append(Outbound(turn.builtin("alert_handoff")))
    _hand_off(turn, "alert-word", alerts.priority, step.id)
    return True


def _took_the_way_out(turn: _Turn, step: Step, inbound: Inbound, text: str) -> bool:
    """Skip the question or hand off, when the customer chose one of the offered ways out."""
    typed = inbound.button is None
    if inbound.button == f"{step.id}:{PERSON}" or (
        typed and matches_keyword(text, DEFAULT_HANDOFF_KEYWORDS)  # even when a flow has its own
    ):
        turn.outbound.append(Outbound(turn.builtin("handoff")))
        _hand_off(turn, "customer-request", "high", step.id)
        return True
    typed_skip = typed and matches_keyword(text, SKIP_KEYWORDS)
    if inbound.button != f"{step.id}:{SKIP}" and not typed_skip:
        return False
    if typed_skip and _read_answer(step, inbound, text) is not _INVALID:
        return False  # "没有" may be a choice's label or an open answer: an answer wins
    assert isinstance(step, ScaleStep | ChoiceStep | OpenStep)
    turn.events.append(QuestionSkipped(step.id, answer_name(step)))
    turn.state = turn.state.evolve(attempts=0)
    _run_from(turn, _next_step(turn, step))
    return True


_INVALID: Any = object()
_ASCII_INTEGER = re.compile(r"-?[0-9]{1,3}")


def _read_answer(step: Step, inbound: Inbound, text: str) -> Any:
    if inbound.button is not None:
        step_id, _, value = inbound.button.partition(":")
        if step_id != step.id:
            return _INVALID  # a stale button from an earlier question
        if isinstance(step, ScaleStep):
            low, high = scale_range(step)
            if not _ASCII_INTEGER.fullmatch(value):
                return _INVALID  # "²".isdigit() is true, but it is no score
            return int(value) if low <= int(value) <= high else _INVALID
        if isinstance(step, ChoiceStep):
            return value if any(c.value == value for c in step.choices) else _INVALID
        return _INVALID
    if isinstance(step, ScaleStep):
        low, high = scale_range(step)
        score = parse_score(text, low, high)
        return _INVALID if score is None else score
    if isinstance(step, ChoiceStep):
        choice = match_choice(text, step.choices)
        return _INVALID if choice is None else choice
    if isinstance(step, OpenStep):
        if step.optional and matches_keyword(text, SKIP_KEYWORDS):
            return None
        return text if text else _INVALID
    return _INVALID


def _record(turn: _Turn, step: Step, value: Any, text: str) -> None:
    assert isinstance(step, ScaleStep | ChoiceStep | OpenStep)
    name = answer_name(step)
    turn.state = turn.state.evolve(answers={**turn.state.answers, name: value}, attempts=0)
    turn.events.append(AnswerRecorded(step.id, name, value, text or str(value)))
    if isinstance(step, ScaleStep) and step.metric:
        low, high = scale_range(step)
        turn.events.append(MetricRecorded(step.id, step.metric, value, low, high))
    if not turn.state.escalated:
        for rule in turn.flow.escalation:
            if evaluate(rule.when, turn.names()):
                turn.events.append(EscalationRequested(rule.reason, rule.priority, step.id))
                turn.state = turn.state.evolve(escalated=True)
                break


def _next_step(turn: _Turn, step: Step) -> str | None:
    next_ = step.next if isinstance(step, MessageStep | ScaleStep | ChoiceStep | OpenStep) else None
    if next_ is None:
        index = turn.flow.steps.index(step)
        return turn.flow.steps[index + 1].id if index + 1 < len(turn.flow.steps) else None
    if isinstance(next_, str):
        return next_
    names = turn.names()
    for branch in next_:
        if branch.if_ is None or evaluate(branch.if_, names):
            return branch.goto
    return None


def _hand_off(turn: _Turn, reason: str, priority: str, step_id: str | None) -> None:
    if not turn.state.escalated:
        turn.events.append(EscalationRequested(reason, priority, step_id))
    turn.events.append(InterviewHandedOff(reason))
    turn.state = turn.state.evolve(status="handed_off", step_id=None, escalated=True)


def _run_from(turn: _Turn, step_id: str | None) -> None:
    for _ in range(MAX_STEPS):
        if step_id is None:
            turn.events.append(InterviewCompleted())
            turn.state = turn.state.evolve(status="completed", step_id=None)
            return
        step = turn.flow.step(step_id)
        if isinstance(step, MessageStep):
            turn.outbound.append(Outbound(turn.say(step.text)))
            step_id = _next_step(turn, step)
        elif isinstance(step, EndStep):
            turn.outbound.append(Outbound(turn.say(step.text)))
            step_id = None
        elif isinstance(step, HandoffStep):
            turn.outbound.append(Outbound(turn.say(step.text)))
            _hand_off(turn, step.reason, step.priority, step.id)
            return
        else:
            turn.outbound.append(_question(turn, step))
            turn.state = turn.state.evolve(step_id=step.id, attempts=0, probes=0)
            return
    turn.events.append(InterviewAbandoned("step-limit"))
    turn.state = turn.state.evolve(status="abandoned", step_id=None)


def _question(turn: _Turn, step: ScaleStep | ChoiceStep | OpenStep) -> Outbound:
    text = turn.say(step.text)
    if isinstance(step, ScaleStep):
        low, high = scale_range(step)
        if step.labels is not None:
            labels = {
                "low": low,
                "high": high,
                "low_label": turn.say(step.labels.min),
                "high_label": turn.say(step.labels.max),
            }
            text = f"{text}\n{turn.builtin('scale_labels', **labels)}"
        buttons = tuple(Button(str(n), f"{step.id}:{n}") for n in range(low, high + 1))
        hint = turn.builtin("scale_hint_plain", low=low, high=high)
        return Outbound(text, buttons, hint, step.id)
    if isinstance(step, ChoiceStep):
        buttons = tuple(Button(turn.say(c.label), f"{step.id}:{c.value}") for c in step.choices)
        numbered = "\n".join(f"{n}. {b.label}" for n, b in enumerate(buttons, start=1))
        return Outbound(text, buttons, f"{turn.builtin('choice_hint')}\n{numbered}", step.id)
    if step.optional:
        text = f"{text}\n{turn.builtin('open_optional_hint')}"
    return Outbound(text, (), "", step.id)


def _reask(turn: _Turn, step: Step, typed: str) -> Outbound:
    question = (
        _question(turn, step) if isinstance(step, ScaleStep | ChoiceStep | OpenStep) else None
    )
    assert question is not None
    if isinstance(step, ScaleStep):
        low, high = scale_range(step)
        example = high - 1 if high > 1 else high
        if is_fractional(typed):  # "7.5": say what is wrong with it
            text = turn.builtin("reask_whole_number", low=low, high=high, example=example)
        elif step.reask:
            text = turn.say(step.reask)
        else:
            text = turn.builtin("reask_scale", low=low, high=high, example=example)
        hint = ""  # the re-ask says how to answer
    elif isinstance(step, ChoiceStep):
        text = turn.say(step.reask) if step.reask else turn.builtin("reask_choice")
        hint = question.hint
    else:
        text, hint = turn.builtin("reask_open"), question.hint
    buttons = question.buttons
    if turn.state.attempts >= ESCAPE_AFTER:
        text = f"{text}\n{turn.builtin('escape_offer')}"
        buttons = (
            *buttons,
            Button(turn.builtin("escape_skip"), f"{step.id}:{SKIP}"),
            Button(turn.builtin("escape_person"), f"{step.id}:{PERSON}"),
        )
    return Outbound(text, buttons, hint, step.id)
