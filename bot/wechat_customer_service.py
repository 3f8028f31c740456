"""Customer-service messages (客服消息): WeChat sends outside a passive reply.

Used for late interview replies (the 5-second budget ran out), agent replies and
proactive surveys. WeChat allows them only within 48 hours of the customer's last
message, and at most 5 per customer message; both rules are checked here from the
stored Message rows before calling WeChat, and WeChat's own refusals (45015, 45047)
are recorded on the row as well. Every send is a Message row whose payload says
{"via": "customer_service", "batch": <first row id>}; one batch is one API call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from wechatpy.exceptions import WeChatClientException

from bot.wechat_client import TokenUnavailable, WeChatApi
from cxbot.conversations import ConversationService
from storage import queries
from storage.database import transaction

log = logging.getLogger(__name__)

CHANNEL = "wechat"
VIA = "customer_service"
WINDOW = timedelta(hours=48)
"""WeChat accepts customer-service messages this long after the customer's last message."""
QUOTA = 5
"""Customer-service messages allowed per customer message (errcode 45047 beyond)."""
ERRORS = {
    40001: "the access token was rejected twice",
    45015: "WeChat refused: more than 48 hours since the customer's last message, "
    "or the customer unfollowed",
    45047: "WeChat refused: the customer-service quota for this customer message is used up",
}

ALREADY_SENT = "already delivered"


@dataclass(frozen=True)
class Delivery:
    """What became of one customer-service send."""

    message_ids: tuple[int, ...]
    sent: bool
    error: str | None = None
    """Why it was refused or failed (also stored on the Message rows)."""
    errcode: int | None = None


class CustomerService:
    """Sends text through WeChat's customer-service API, within WeChat's rules."""

    def __init__(self, *, service: ConversationService, api: WeChatApi | None) -> None:
        self.service = service
        self.api = api

    async def send_text(
        self,
        openid: str,
        text: str,
        *,
        author: str = "agent",
        conversation_id: int | None = None,
    ) -> Delivery:
        """Store `text` as an outbound message to `openid` and send it (agent replies, surveys)."""
        now = self.service.clock()
        async with transaction(self.service.sessions) as session:
            customer = await queries.find_customer(
                session=session, channel=CHANNEL, external_id=openid
            )
            if customer is None or customer.id is None:
                log.warning("customer-service send to unknown openid %s refused", openid)
                return Delivery((), False, "no WeChat customer with this openid")
            if conversation_id is None:
                open_one = await queries.open_conversation(session=session, customer_id=customer.id)
                conversation_id = open_one.id if open_one else None
            row = queries.add_message(
                session=session,
                customer_id=customer.id,
                conversation_id=conversation_id,
                channel=CHANNEL,
                direction="out",
                author=author,
                text=text,
                payload={"via": VIA},
                delivery_state="pending",
            )
            row.created_at = now
            await session.flush()
            assert row.id is not None
            message_id = row.id
        return await self.deliver(openid, [message_id], text)

    async def deliver(
        self, openid: str, message_ids: Sequence[int], text: str, *, claim: bool = False
    ) -> Delivery:
        """Send stored outbound rows as one message; `claim`: skip if already delivered."""
        ids = tuple(message_ids)
        refusal = await self._reserve(openid, ids, claim=claim)
        if refusal is ALREADY_SENT:
            return Delivery(ids, True)
        if refusal is not None:
            log.warning("customer-service send to %s refused: %s", openid, refusal)
            return await self._fail(ids, f"refused: {refusal}")
        if self.api is None:
            return await self._fail(ids, "WECHAT_APP_ID / WECHAT_APP_SECRET are not set")
        try:
            await self.api.send_text(openid, text)
        except WeChatClientException as exc:
            reason = ERRORS.get(exc.errcode or 0, exc.errmsg or "HTTP error")
            log.warning("customer-service send to %s failed: %s %s", openid, exc.errcode, reason)
            return await self._fail(ids, f"errcode {exc.errcode}: {reason}", exc.errcode)
        except (TokenUnavailable, OSError, ValueError) as exc:
            log.warning("customer-service send to %s failed: %r", openid, exc)
            return await self._fail(ids, f"{type(exc).__name__}: {exc}"[:300])
        async with transaction(self.service.sessions) as session:
            for message_id in ids:
                await queries.mark_delivered(
                    session=session, message_id=message_id, at=self.service.clock()
                )
        return Delivery(ids, True)

    async def _reserve(self, openid: str, ids: tuple[int, ...], *, claim: bool) -> str | None:
        """Check the window and quota and mark the rows as this batch.

        Returns None when the send may go ahead, ALREADY_SENT when `claim` finds a
        passive reply (a WeChat retry) already carried them, or the reason for refusing.
        """
        now = self.service.clock()
        async with transaction(self.service.sessions) as session:
            rows = await queries.messages_by_id(session=session, ids=ids)
            if claim and all(row.delivery_state == "sent" for row in rows):
                return ALREADY_SENT
            customer = await queries.find_customer(
                session=session, channel=CHANNEL, external_id=openid
            )
            last = customer.last_inbound_at if customer else None
            if customer is None or customer.id is None or last is None:
                return "the customer never wrote to the account"
            if now - last > WINDOW:
                return (
                    "outside the 48-hour customer-service window "
                    f"(last customer message {_ago(now - last)} ago, at {last.isoformat()})"
                )
            used = await queries.count_outbound_batches(
                session=session, customer_id=customer.id, via=VIA, since=last
            )
            if used >= QUOTA:
                return (
                    f"customer-service quota used: {used} of {QUOTA} messages sent "
                    "since the customer's last message"
                )
            for message_id in ids:
                await queries.merge_payload(
                    session=session,
                    message_id=message_id,
                    changes={"via": VIA, "batch": ids[0]},
                )
        return None

    async def _fail(self, ids: tuple[int, ...], error: str, errcode: int | None = None) -> Delivery:
        async with transaction(self.service.sessions) as session:
            for message_id in ids:
                await queries.mark_failed(session=session, message_id=message_id, error=error)
        return Delivery(ids, False, error, errcode)


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 96 else f"{hours / 24:.0f} days"
