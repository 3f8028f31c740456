"""A customer who asks for a person, or writes an alert word, while no interview runs: a
conversation with the team starts at once, handed off, with a case (no survey is asked).

Such a conversation runs on a small built-in flow, `direct-handoff` (one handoff step, never
listed nor started otherwise), so that it is pinned and stored like any other: the agents'
pages, the transcript and the one-open-case rule treat it like a handed-off interview.
"""

from __future__ import annotations

from datetime import datetime

from bot.channel import Incoming
from cxbot.greetings import written_in
from flows import language as languages
from flows import texts
from flows.events import EscalationRequested, Event, InterviewHandedOff, InterviewStarted
from flows.loader import LoadedFlow, load_text
from flows.matching import DEFAULT_HANDOFF_KEYWORDS, AlertWords, matches_keyword
from flows.state import ConversationState, Outbound, Outcome
from storage.turn_rows import CustomerRow

FLOW_ID = "direct-handoff"
SOURCE = f"""\
# Built in (cxbot/direct_handoff.py): a customer asked for a person outside any survey.
id: {FLOW_ID}
name: {{zh: 联系客服, en: Talk to our team}}
touchpoint: {FLOW_ID}
journey_stage: usage
languages: [zh, en]
default_language: zh
start: {{api: false}}
steps:
  - id: to_agent
    type: handoff
    reason: customer-request
    priority: high
    text:
      zh: {texts.BUILTIN["handoff"]["zh"]}
      en: "{texts.BUILTIN["handoff"]["en"]}"
"""
FLOW: LoadedFlow = load_text(SOURCE, file="<cxbot/direct_handoff.py>")
"""Pinned under its content version and stored in `flowversion` like any flow."""


def outcome(
    incoming: Incoming, customer: CustomerRow, alerts: AlertWords, at: datetime
) -> Outcome | None:
    """The conversation to open for a message outside any interview that asks for a person
    or holds an alert word (None: it does neither)."""
    asked = request(incoming, alerts)
    if asked is None:
        return None
    hints = (incoming.language_hint, customer.language, written_in(incoming.text))
    reason, priority, text_key = asked
    return hand_off(
        language=languages.choose(["zh", "en"], "zh", *hints),
        at=at,
        reason=reason,
        priority=priority,
        text_key=text_key,
        channel=incoming.channel,
    )


def request(incoming: Incoming, alerts: AlertWords) -> tuple[str, str, str] | None:
    """(reason, priority, built-in text key) when a message outside an interview asks for a
    person (a handoff word, `/human`) or holds an alert word; else None."""
    if incoming.kind not in ("text", "command"):
        return None
    text = incoming.text.strip()
    if incoming.command == "human" or (text and matches_keyword(text, DEFAULT_HANDOFF_KEYWORDS)):
        return "customer-request", "high", "handoff"
    if text and alerts and alerts.found_in(text) is not None:
        return "alert-word", alerts.priority, "alert_handoff"
    return None


def hand_off(
    *, language: str, at: datetime, reason: str, priority: str, text_key: str, channel: str
) -> Outcome:
    """The state, message and events of a conversation handed to the team at once."""
    state = ConversationState(
        flow_id=FLOW_ID,
        flow_version=FLOW.version,
        language=language,
        started_at=at,
        last_activity_at=at,
        status="handed_off",
        escalated=True,
        variables={"channel": channel},
    )
    events: tuple[Event, ...] = (
        InterviewStarted(FLOW_ID, FLOW.version, language),
        EscalationRequested(reason, priority, None),
        InterviewHandedOff(reason),
    )
    return Outcome(state, (Outbound(texts.builtin(text_key, language)),), events)
