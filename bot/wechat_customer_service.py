"""Customer-service messages (客服消息): WeChat's half of the delivery path.

Used for late interview replies (the 5-second budget ran out), the integrators' API, agent
replies and proactive surveys — whatever the delivery path (`cxbot/delivery.py`) hands it.
WeChat allows them only within 48 hours of the customer's last message, and at most 5 per
customer message: the sender declares both rules (`window`, `quota`) and the delivery path
checks them with the customer's row locked before calling WeChat; WeChat's own refusals
(45015, 45047) come back as `Undeliverable`. One call carries all the messages it is given,
joined (`batch`), so a reply of three messages uses one of the five.

What remains: WeChat's own count also includes sends made outside cxbot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from wechatpy.exceptions import WeChatClientException

from bot.channel import Recipient, RetryLater, Undeliverable
from bot.wechat_client import TokenUnavailable, WeChatApi, scrub
from flows.state import Outbound

log = logging.getLogger(__name__)

CHANNEL = "wechat"
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
RETRY_SECONDS = 30.0
"""How long a send that failed on the network or the token waits in the queue."""
MAX_OPENID = 128


def join_messages(messages: Sequence[Outbound]) -> str:
    """One text carrying every message, with answer hints (WeChat has no buttons)."""
    return "\n\n".join(message.as_plain_text() for message in messages)


class CustomerServiceSender:
    """Sends text through WeChat's customer-service API (`bot.channel.Sender`)."""

    channel = CHANNEL
    route = "customer_service"
    batch = True
    window: timedelta | None = WINDOW
    quota: int | None = QUOTA

    def __init__(self, api: WeChatApi | None) -> None:
        self.api = api

    def unreachable(self, address: str) -> str | None:
        """Why `address` cannot be a WeChat openid, or None."""
        if not address or len(address) > MAX_OPENID or not address.isascii():
            return "not a WeChat openid"
        return None

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> str | None:
        """One customer-service text with all the messages; WeChat returns no message id."""
        if self.api is None:
            raise Undeliverable("WECHAT_APP_ID / WECHAT_APP_SECRET are not set")
        try:
            await self.api.send_text(recipient.address, join_messages(messages))
        except WeChatClientException as exc:
            reason = ERRORS.get(exc.errcode or 0, exc.errmsg or "HTTP error")
            if exc.errcode is None:  # an HTTP error, not WeChat's answer: try again later
                raise RetryLater(scrub(f"HTTP error: {reason}"), RETRY_SECONDS) from None
            raise Undeliverable(scrub(f"errcode {exc.errcode}: {reason}")) from None
        except (TokenUnavailable, OSError, ValueError) as exc:
            raise RetryLater(scrub(f"{type(exc).__name__}: {exc}"), RETRY_SECONDS) from None
        return None
