"""Customer-service messages (客服消息): WeChat sends outside a passive reply.

Used for late interview replies (the 5-second budget ran out), agent replies and
proactive surveys. WeChat allows them only within 48 hours of the customer's last
message, and at most 5 per customer message; both rules are checked here from the
stored Message rows before calling WeChat, and WeChat's own refusals (45015, 45047)
are recorded on the row as well. Every send is a Message row whose payload says
{"via": "customer_service", "batch": <first row id>}; one batch is one API call.
Rows are claimed (`ConversationService.claim`) before they are sent, so a passive reply
to a WeChat retry and a customer-service send never both deliver the same message.

The quota check and the reservation of a batch run in one transaction with the
customer's row locked (FOR UPDATE on PostgreSQL, serial write transactions on SQLite).
What remains: WeChat's own count also includes sends made outside cxbot, and a send
that crashed after WeChat accepted it stays "sending" (counted, never re-sent).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from wechatpy.exceptions import WeChatClientException

from bot.wechat_client import TokenUnavailable, WeChatApi, scrub
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

ALREADY_CLAIMED = "already sent or being sent by another sender"


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
        return await self.deliver(openid, [(message_id, text)])

    async def deliver(self, openid: str, parts: Sequence[tuple[int, str]]) -> Delivery:
        """Claim stored outbound rows and send the ones this caller got as one message.

        `parts` are (message id, text). Rows another sender claimed (a passive reply to a
        WeChat retry, another process) are left alone. Never raises for a failed send:
        the error is logged and stored on the rows, with secrets scrubbed.
        """
        texts = dict(parts)
        ids = tuple(await self.service.claim(list(texts)))
        if not ids:
            return Delivery((), False, ALREADY_CLAIMED)
        try:
            return await self._send(openid, ids, "\n\n".join(texts[i] for i in ids))
        except Exception as exc:
            log.error(
                "customer-service send to %s failed unexpectedly:\n%s",
                openid,
                scrub("".join(traceback.format_exception(exc))),
            )
            return await self._fail(ids, scrub(f"internal error: {type(exc).__name__}: {exc}"))

    async def _send(self, openid: str, ids: tuple[int, ...], text: str) -> Delivery:
        refusal = await self._reserve(openid, ids)
        if refusal is not None:
            log.warning("customer-service send to %s refused: %s", openid, refusal)
            return await self._fail(ids, f"refused: {refusal}")
        if self.api is None:
            return await self._fail(ids, "WECHAT_APP_ID / WECHAT_APP_SECRET are not set")
        try:
            await self.api.send_text(openid, text)
        except WeChatClientException as exc:
            reason = ERRORS.get(exc.errcode or 0, exc.errmsg or "HTTP error")
            error = scrub(f"errcode {exc.errcode}: {reason}")
            log.warning("customer-service send to %s failed: %s", openid, error)
            return await self._fail(ids, error, exc.errcode)
        except (TokenUnavailable, OSError, ValueError) as exc:
            error = scrub(f"{type(exc).__name__}: {exc}")
            log.warning("customer-service send to %s failed: %s", openid, error)
            return await self._fail(ids, error)
        async with transaction(self.service.sessions) as session:
            for message_id in ids:
                await queries.mark_delivered(
                    session=session, message_id=message_id, at=self.service.clock()
                )
        return Delivery(ids, True)

    async def _reserve(self, openid: str, ids: tuple[int, ...]) -> str | None:
        """Check the window and quota and mark the rows as this batch; None, or why not.

        The customer's row is locked first (FOR UPDATE on PostgreSQL; SQLite's write
        transactions are serial anyway), so two senders cannot both take the last slot.
        """
        now = self.service.clock()
        async with transaction(self.service.sessions) as session:
            customer = await queries.lock_customer(
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
                session=session, customer_id=customer.id, via=VIA, since=last, excluding=ids
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
        error = scrub(error)[:300]
        async with transaction(self.service.sessions) as session:
            for message_id in ids:
                await queries.mark_failed(session=session, message_id=message_id, error=error)
        return Delivery(ids, False, error, errcode)


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 96 else f"{hours / 24:.0f} days"
