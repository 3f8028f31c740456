"""How the desk shows a case: its card in the queue (score, deterministic summary, time
left), its transcript lines and what the customer's channel allows before a reply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from admin.desk import CaseCard, Limits, Line
from bot.channel import Sender, pseudonym
from storage import desk as queries
from storage.analysis_tables import EscalationSummary
from storage.models import Answer, Message

SUMMARY_ANSWERS = 3
"""How many of the customer's written answers the summary quotes."""
SUMMARY_QUOTE = 80


def summary_of(answers: Sequence[Answer]) -> tuple[str | None, str]:
    """The score (`NPS 3`) and a short deterministic extract of the key answers."""
    scored = [a for a in answers if a.metric is not None and a.score is not None]
    score = f"{scored[0].metric.upper()} {scored[0].score}" if scored and scored[0].metric else None
    written = [a.text.strip() for a in answers if a.metric is None and a.text and a.text.strip()]
    quotes = [t if len(t) <= SUMMARY_QUOTE else t[: SUMMARY_QUOTE - 1] + "…" for t in written]
    parts = [p for p in [score, *quotes[:SUMMARY_ANSWERS]] if p]
    return score, " · ".join(parts)


def card_of(
    row: queries.CaseRow,
    answers: Sequence[Answer],
    now: datetime,
    model_summary: EscalationSummary | None = None,
) -> CaseCard:
    escalation, conversation, customer = row.escalation, row.conversation, row.customer
    score, extract = summary_of(answers)
    waiting_for_agent = escalation.status in queries.OPEN and escalation.first_reply_at is None
    seconds_left = int((escalation.due_at - now).total_seconds()) if waiting_for_agent else 0
    return CaseCard(
        id=escalation.id or 0,
        conversation_id=conversation.id or 0,
        status=escalation.status,
        priority=escalation.priority,
        reason=escalation.reason,
        channel=conversation.channel,
        language=conversation.language,
        created_at=escalation.created_at,
        due_at=escalation.due_at,
        seconds_left=seconds_left,
        overdue=waiting_for_agent and seconds_left < 0,
        score=score,
        summary=model_summary.text if model_summary else extract,
        extract=extract,
        summary_by=model_summary.model if model_summary else "",
        assigned_to=escalation.assigned_name,
        customer=customer.display_name or pseudonym(customer.external_id),
        first_reply_at=escalation.first_reply_at,
        outcome=escalation.outcome,
        closing_answer=escalation.closing_answer,
    )


def is_command(message: Message) -> bool:
    """A command the customer sent (`/start`): the case page does not show it."""
    return message.direction == "in" and bool((message.payload or {}).get("command"))


def line_of(message: Message) -> Line:
    buttons = tuple(b.get("label", "") for b in (message.payload or {}).get("buttons", []))
    return Line(
        id=message.id or 0,
        direction=message.direction,
        author=message.author,
        text=message.text,
        state=message.delivery_state,
        error=message.error,
        at=message.created_at,
        buttons=buttons,
    )


def limits_of(
    channel: str,
    sender: Sender | None,
    last_inbound_at: datetime | None,
    sends_left: int | None,
    now: datetime,
) -> Limits:
    """The channel's reply window and quota as they stand now, and why a reply would be
    refused (an i18n key), if it would."""
    window = sender.window if sender is not None else None
    window_left = (
        None
        if window is None or last_inbound_at is None
        else int((last_inbound_at + window - now).total_seconds())
    )
    refusal = None
    if sender is None:
        refusal = "desk.limit.not_mounted"
    elif (window is not None or sender.quota is not None) and last_inbound_at is None:
        refusal = "desk.limit.never_wrote"
    elif window_left is not None and window_left <= 0:
        refusal = "desk.limit.window_passed"
    elif sends_left == 0:
        refusal = "desk.limit.quota_used"
    return Limits(
        channel=channel,
        window_hours=None if window is None else window.total_seconds() / 3600,
        window_left_seconds=window_left,
        quota=sender.quota if sender is not None else None,
        sends_left=sends_left,
        refusal=refusal,
    )
