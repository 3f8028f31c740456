"""The label values the metrics use: small fixed sets, never a customer's id or text.

A channel is a known name or `other`; an inbound message's outcome is one of six; a failed
send's error text becomes a short code (`RetryAfter`, `Forbidden`, `errcode 45015`,
`window`) from a fixed set; a database outage's reason becomes a class (`locked`,
`timeout`, `connection`, …).
"""

from __future__ import annotations

import re
from typing import Literal

from bot.channel import Reply, Unavailable
from bot.wechat_customer_service import ERRORS as WECHAT_ERRORS

Outcome = Literal["ok", "duplicate", "stale", "refused", "error", "unavailable"]
"""What became of an inbound message: handled; a platform's redelivery; a tap on an old
keyboard; not started (busy, quiet period, conflict); handled with an apology after an
internal error (or failed outright); the database was unavailable (answered 503)."""
SendResult = Literal["sent", "failed", "deferred"]
CHANNELS = frozenset({"web", "telegram", "wechat", "cli", "api"})
"""Channel label values; anything else is counted as `other`."""
PLATFORM_ERRORS = frozenset(
    {
        # Telegram (python-telegram-bot's error classes)
        "RetryAfter",
        "Forbidden",
        "BadRequest",
        "NetworkError",
        "TimedOut",
        "ChatMigrated",
        "InvalidToken",
        "Conflict",
        "EndPointNotFound",
        "TelegramError",
        # WeChat's client, before WeChat answered
        "HTTP error",
        "TokenUnavailable",
        "OSError",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "TimeoutError",
        "ValueError",
    }
)
"""Error codes taken as they are from a failed send's error text (`RetryAfter: …`)."""
REFUSALS = {
    "refused: outside": "window",
    "refused: quota": "quota",
    "internal error": "internal",
    "not a ": "address",
}
"""Error texts of the delivery path itself, by their start, and their code."""
OUTAGE_REASONS = (
    ("is locked", "locked"),
    ("write turn", "queue"),
    ("connection free", "pool"),
    ("timeout", "timeout"),
    ("timed out", "timeout"),
    ("no answer within", "timeout"),
    ("canceling statement", "timeout"),
    ("disk i/o", "disk"),
    ("connect", "connection"),
    ("refused", "connection"),
    ("unable to open", "connection"),
    ("shutting down", "connection"),
    ("terminat", "connection"),
    ("closed", "connection"),
)
"""Outage reasons (`storage.outages.unavailable`) by a phrase in them, first match wins."""


def channel_label(channel: str) -> str:
    """The channel as a label value (a known name, else `other`)."""
    return channel if channel in CHANNELS else "other"


def outcome_of(reply: Reply | None, error: BaseException | None) -> Outcome:
    """The outcome label of one `ConversationService.handle` call."""
    if isinstance(error, Unavailable):
        return "unavailable"
    if reply is None or error is not None:
        return "error"
    if reply.duplicate:
        return "duplicate"
    if reply.stale:
        return "stale"
    if reply.refused is not None:
        return "refused"
    if any(name == "service-error" for name, _ in reply.events):
        return "error"
    return "ok"


def error_code(error: str | None) -> str:
    """A short code for a failed or deferred send's error text (`RetryAfter`, `Forbidden`,
    `errcode 45015`, `window`), from a fixed set: never the text itself."""
    text = error or ""
    found = re.match(r"errcode (\d+)\b", text)
    if found:
        return f"errcode {found[1]}" if int(found[1]) in WECHAT_ERRORS else "errcode other"
    head = text.split(":", 1)[0]
    if head in PLATFORM_ERRORS:
        return head
    for start, code in REFUSALS.items():
        if text.startswith(start):
            return code
    if text.endswith("channel is not mounted"):
        return "not-mounted"
    return "other"


def outage_reason(reason: str) -> str:
    """A reason class for a database outage (`locked`, `timeout`, `connection`, …)."""
    lowered = reason.lower()
    return next((code for phrase, code in OUTAGE_REASONS if phrase in lowered), "other")
