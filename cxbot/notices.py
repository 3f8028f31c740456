"""Announcing the loop: new and overdue cases to the agents (Telegram group, WeCom robot),
and events to the integrators' webhooks — each once, whichever process sees it first.

    event table ── cursor ──┐                      ┌─► webhook:<id>  (signed JSON)
                            ├─► scan() ─► dispatch ├─► telegram      (the agents' group)
    escalation table ───────┘   (one transaction)  └─► wecom         (group robot, markdown)

`scan()` reads what is new in one transaction with the event cursor locked, marks it
announced (`loop_signal`, the cursor) and queues the calls (`dispatch`) in that same
transaction; `cxbot.dispatcher` makes the calls. So nothing is announced twice across
processes, and a crash before the commit announces it on the next scan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import dispatches, signals, webhooks
from storage.models import Conversation, Escalation, Event
from storage.writes import Writer

CURSOR = "loop-notices"
EVENT_NAMES = ("metric-recorded", "interview-completed")
"""The stored events webhooks are made from (escalations come from their own table)."""
KINDS = ("opened", "overdue", "resolved")
DETRACTOR_HIGHEST = 6
"""NPS scores 0–6 are detractors."""

Language = Literal["zh", "en"]
TEXTS: dict[str, dict[Language, str]] = {
    "opened": {
        "zh": "新工单 #{id}（{priority}）：{reason}",
        "en": "New case #{id} ({priority}): {reason}",
    },
    "overdue": {
        "zh": "工单 #{id} 已超时（{priority}）：{reason}",
        "en": "Case #{id} is overdue ({priority}): {reason}",
    },
    "due": {"zh": "回复截止 {due} UTC", "en": "Reply due {due} UTC"},
    "missed": {
        "zh": "截止 {due} UTC 已过，尚无客服回复",
        "en": "Due {due} UTC, no agent has replied yet",
    },
    "open": {"zh": "打开工单", "en": "Open the case"},
    "urgent": {"zh": "紧急", "en": "urgent"},
    "high": {"zh": "高", "en": "high"},
    "normal": {"zh": "普通", "en": "normal"},
    "low": {"zh": "低", "en": "low"},
}
"""What the agents read, in both languages (tests check every key has both)."""


@dataclass(frozen=True)
class NoticeConfig:
    """Where notices go and how they read."""

    case_url: str
    """`PUBLIC_URL/admin/escalations/{id}` with `{id}` to fill."""
    telegram_chat_id: str | None = None
    wecom: bool = False
    language: Language = "zh"
    hole_life: timedelta = timedelta(minutes=2)
    """How long an event id skipped over is waited for (longer than any transaction)."""


def agent_texts(kind: str, case: Escalation, config: NoticeConfig) -> tuple[str, str]:
    """(plain text for Telegram, markdown for WeCom) announcing a new or overdue case."""

    def t(key: str, **fields: Any) -> str:
        return TEXTS[key][config.language].format(**fields)

    priority = t(case.priority) if case.priority in TEXTS else case.priority
    head = t(kind, id=case.id, priority=priority, reason=case.reason)
    due = t("missed" if kind == "overdue" else "due", due=f"{case.due_at:%Y-%m-%d %H:%M}")
    url = config.case_url.format(id=case.id)
    plain = f"{head}\n{due}\n{url}"
    color = "warning" if kind == "overdue" else "info"
    shown = t(kind, id=case.id, priority=priority, reason=_plain(case.reason))
    markdown = f'<font color="{color}">**{shown}**</font>\n> {due}\n[{t("open")}]({url})'
    return plain, markdown


def _plain(text: str) -> str:
    """`text` with WeCom markdown's special characters dropped (no link or tag sneaks in)."""
    return "".join(c for c in text if c not in "[]()<>*`#\\\n")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def case_data(case: Escalation, conversation: Conversation | None, url: str) -> dict[str, Any]:
    """An escalation as webhook data (no customer text, no platform ids)."""
    return {
        "escalation": {
            "id": case.id,
            "conversation_id": case.conversation_id,
            "reason": case.reason,
            "priority": case.priority,
            "status": case.status,
            "created_at": _iso(case.created_at),
            "due_at": _iso(case.due_at),
            "first_reply_at": _iso(case.first_reply_at),
            "resolved_at": _iso(case.resolved_at),
            "outcome": case.outcome,
            "closing_answer": case.closing_answer,
            "channel": conversation.channel if conversation else None,
            "flow_id": conversation.flow_id if conversation else None,
            "language": conversation.language if conversation else None,
            "url": url,
        }
    }


def conversation_data(conversation: Conversation | None) -> dict[str, Any]:
    """A conversation as webhook data (what it was, not what was said)."""
    if conversation is None:
        return {}
    return {
        "id": conversation.id,
        "flow_id": conversation.flow_id,
        "flow_version": conversation.flow_version,
        "touchpoint": conversation.touchpoint,
        "journey_stage": conversation.journey_stage,
        "channel": conversation.channel,
        "language": conversation.language,
    }


def event_webhook(
    event: Event, conversation: Conversation | None
) -> tuple[str, dict[str, Any]] | None:
    """The webhook (name, data) a stored event makes, or None."""
    if event.name == "interview-completed":
        return "interview.completed", {"conversation": conversation_data(conversation)}
    data = event.data or {}
    value = data.get("value")
    if (
        event.name == "metric-recorded"
        and data.get("metric") == "nps"
        and isinstance(value, int)
        and value <= DETRACTOR_HIGHEST
    ):
        return "detractor.recorded", {
            "conversation": conversation_data(conversation),
            "step_id": data.get("step_id"),
            "metric": "nps",
            "score": value,
            "scale": [data.get("low"), data.get("high")],
        }
    return None


class Notifier:
    """Finds what is new and queues its announcements; see the module doc."""

    def __init__(
        self, *, writer: Writer, clock: Callable[[], datetime], config: NoticeConfig
    ) -> None:
        self.writer = writer
        self.clock = clock
        self.config = config

    async def scan(self) -> int:
        """Queue the announcements of what happened since the last scan; how many calls."""
        now = self.clock()
        queued = 0
        async with self.writer.transaction() as session:
            cursor = await signals.lock_cursor(session=session, name=CURSOR, now=now)
            found = await signals.events_after(
                session=session,
                cursor=cursor,
                names=EVENT_NAMES,
                now=now,
                hole_life=self.config.hole_life,
            )
            for event in found.events:
                conversation = await self._conversation(session, event.conversation_id)
                made = event_webhook(event, conversation)
                if made is not None:
                    name, data = made
                    queued += await self._webhooks(session, name, f"event:{event.id}", data, now)
            signals.advance(cursor, found, now)
            session.add(cursor)
            for kind in KINDS:
                for case in await signals.unannounced(session=session, kind=kind, now=now):
                    assert case.id is not None
                    if await signals.mark_announced(
                        session=session, escalation_id=case.id, kind=kind, now=now
                    ):
                        queued += await self._announce(session, kind, case, now)
        return queued

    async def _announce(
        self, session: AsyncSession, kind: str, case: Escalation, now: datetime
    ) -> int:
        key = f"escalation.{kind}:{case.id}"
        url = self.config.case_url.format(id=case.id)
        conversation = await self._conversation(session, case.conversation_id)
        queued = await self._webhooks(
            session, f"escalation.{kind}", key, case_data(case, conversation, url), now
        )
        if kind == "resolved":
            return queued
        plain, markdown = agent_texts(kind, case, self.config)
        if self.config.telegram_chat_id:
            queued += await dispatches.enqueue(
                session=session,
                target="telegram",
                key=key,
                event=f"escalation.{kind}",
                payload={"chat_id": self.config.telegram_chat_id, "text": plain},
                now=now,
            )
        if self.config.wecom:
            queued += await dispatches.enqueue(
                session=session,
                target="wecom",
                key=key,
                event=f"escalation.{kind}",
                payload={"msgtype": "markdown", "markdown": {"content": markdown}},
                now=now,
            )
        return queued

    async def _webhooks(
        self, session: AsyncSession, name: str, key: str, data: dict[str, Any], now: datetime
    ) -> int:
        queued = 0
        for endpoint in await webhooks.subscribers(session=session, event=name):
            body = {"id": key, "event": name, "created_at": now.isoformat(), "data": data}
            queued += await dispatches.enqueue(
                session=session,
                target=f"webhook:{endpoint.id}",
                endpoint_id=endpoint.id,
                key=key,
                event=name,
                payload=body,
                now=now,
            )
        return queued

    @staticmethod
    async def _conversation(
        session: AsyncSession, conversation_id: int | None
    ) -> Conversation | None:
        if conversation_id is None:
            return None
        return await session.get(Conversation, conversation_id)
