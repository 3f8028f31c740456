"""The WeChat Official Account channel (公众号): the signed, optionally encrypted webhook.

WeChat posts XML to `POST /webhooks/wechat` and waits 5 seconds for one passive reply,
then retries the same message (3 tries in all). So:

- every POST is checked against `signature` (403 when it fails, nothing stored), its
  timestamp must be within REPLAY_WINDOW_SECONDS of now, and a (timestamp, nonce) pair
  seen before with another body is a replay (403); `encrypt_type=aes` bodies
  (compatible and safe mode) are decrypted with the EncodingAESKey and the reply is
  encrypted back; in safe mode (`wechat_mode`) a plaintext POST is refused;
- a message is processed once (MsgId; events by FromUserName + CreateTime) and
  a retry gets the same reply;
- each customer message gets exactly one passive reply: all the interview's next
  messages joined into one text (WeChat has no buttons: scales show their hint);
- the conversation service gets a time budget (4 s); when it overruns, WeChat gets
  "success" and the reply follows through the customer-service API. Both paths claim
  the reply's rows first (`ConversationService.claim`), so only one of them sends.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.wechat_client import WeChatApi, scrub
from bot.wechat_customer_service import VIA, CustomerService, Delivery
from bot.wechat_messages import to_incoming
from bot.wechat_signatures import decrypt, first_use, refusal
from cxbot.conversations import Incoming, Reply
from flows.state import Outbound
from storage import queries
from storage.database import transaction

if TYPE_CHECKING:
    from cxbot.app import Runtime

log = logging.getLogger(__name__)

CHANNEL = "wechat"
PATH = "/webhooks/wechat"
MAX_BODY_BYTES = 64 * 1024
"""WeChat's messages are a few KB; anything far larger is not from WeChat."""
SUCCESS = "success"
Mode = Literal["plaintext", "compatible", "safe"]
APOLOGY = (
    "抱歉，系统暂时出了点问题，请稍后再试。\n"
    "Sorry, something went wrong on our side. Please try again later."
)


def join_messages(messages: Sequence[tuple[int, Outbound]]) -> str:
    """One passive reply carrying every message, as plain text with answer hints."""
    return "\n\n".join(message.as_plain_text() for _, message in messages)


class WeChatChannel:
    """The webhook, the passive replies and the customer-service sends of one account."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.service = runtime.service
        assert settings.wechat_token is not None
        self.token: str = settings.wechat_token.get_secret_value()
        self.app_id: str | None = settings.wechat_app_id
        aes_key = settings.wechat_encoding_aes_key
        self.crypto: WeChatCrypto | None = None
        if aes_key is not None and self.app_id:
            try:
                self.crypto = WeChatCrypto(self.token, aes_key.get_secret_value(), self.app_id)
            except (AssertionError, ValueError) as exc:
                raise ValueError(
                    "WECHAT_ENCODING_AES_KEY must be the 43-character EncodingAESKey "
                    "from the account's server settings"
                ) from exc
        self.mode: Mode = settings.wechat_mode or ("safe" if aes_key is not None else "plaintext")
        if self.mode != "plaintext" and self.crypto is None:
            raise ValueError(
                f"CXBOT_WECHAT_MODE={self.mode} needs WECHAT_ENCODING_AES_KEY and WECHAT_APP_ID"
            )
        self.wall_clock: Callable[[], float] = time.time
        """Seconds since the epoch, for the freshness of signed requests."""
        self.reply_budget = settings.wechat_reply_budget_seconds
        self.customer_service = CustomerService(service=self.service, api=None)
        self._late: set[asyncio.Future[Any]] = set()
        """Work still running: handling and late customer-service replies."""

    async def start(self) -> None:
        """Create the API client when the app id and secret are configured."""
        settings = self.runtime.settings
        if self.app_id and settings.wechat_app_secret is not None:
            self.customer_service.api = WeChatApi(
                app_id=self.app_id,
                secret=settings.wechat_app_secret.get_secret_value(),
                base_url=settings.wechat_api_base_url,
                sessions=self.service.sessions,
                clock=self.service.clock,
            )
        else:
            log.warning("WeChat customer-service sends are off: set WECHAT_APP_ID and SECRET")

    async def close(self) -> None:
        """Let late replies finish, then close the API client."""
        await self.drain(seconds=10.0)
        if self.customer_service.api is not None:
            self.customer_service.api.close()
            self.customer_service.api = None

    async def drain(self, *, seconds: float | None = None) -> None:
        """Wait for replies that went out through the customer-service API."""
        if self._late:
            await asyncio.wait(set(self._late), timeout=seconds)

    async def send_text(
        self, openid: str, text: str, *, author: str = "agent", conversation_id: int | None = None
    ) -> Delivery:
        """Send a message outside a passive reply (agent replies, proactive surveys)."""
        return await self.customer_service.send_text(
            openid, text, author=author, conversation_id=conversation_id
        )

    async def push(self, openid: str, reply: Reply) -> str | None:
        """Deliver a reply made outside a WeChat message (an API start) by customer-service
        message, within the 48-hour window and quota; return why not, or None."""
        parts = [
            (message_id, message.as_plain_text())
            for message_id, message in reply.messages
            if not reply.duplicate or message_id in reply.undelivered
        ]
        if not parts:
            return None
        delivery = await self.customer_service.deliver(openid, parts)
        return None if delivery.sent else delivery.error or "not sent"

    def router(self) -> APIRouter:
        """`GET` (URL verification) and `POST` (messages) on /webhooks/wechat."""
        api = APIRouter()
        api.add_api_route(PATH, self.verify, methods=["GET"], include_in_schema=False)
        api.add_api_route(PATH, self.receive, methods=["POST"], include_in_schema=False)
        return api

    def _refusal(self, request: Request) -> str | None:
        """Why a request is not WeChat's (bad signature, stale timestamp), or None."""
        params = request.query_params
        return refusal(
            self.token,
            signature=params.get("signature", ""),
            timestamp=params.get("timestamp", ""),
            nonce=params.get("nonce", ""),
            now=self.wall_clock(),
        )

    async def verify(self, request: Request) -> Response:
        """WeChat's server verification: echo `echostr` when the signature checks."""
        refusal = self._refusal(request)
        if refusal is not None:
            log.warning("WeChat URL verification with %s from %s", refusal, _peer(request))
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(request.query_params.get("echostr", ""))

    async def receive(self, request: Request) -> Response:
        """One message or event from WeChat; answers with the passive reply."""
        refusal = self._refusal(request)
        if refusal is not None:
            log.warning("WeChat POST with %s from %s", refusal, _peer(request))
            return PlainTextResponse("forbidden", status_code=403)
        params = request.query_params
        encrypted = params.get("encrypt_type", "raw").lower() == "aes"
        if not encrypted and self.mode == "safe":
            log.warning("plaintext WeChat POST refused in safe mode from %s", _peer(request))
            return PlainTextResponse("forbidden", status_code=403)
        body = await _read_body(request, MAX_BODY_BYTES)
        if body is None:
            log.warning("WeChat POST over %d bytes refused", MAX_BODY_BYTES)
            return PlainTextResponse("request body too large", status_code=413)
        if encrypted and self.crypto is None:
            log.warning("encrypted WeChat POST but no EncodingAESKey: reading the plaintext part")
            encrypted = False
        try:
            xml = self._decrypt(body, request) if encrypted else body.decode("utf-8")
        except InvalidSignatureException:
            log.warning("WeChat POST with a bad msg_signature from %s", _peer(request))
            return PlainTextResponse("forbidden", status_code=403)
        except Exception as exc:
            log.warning("undecryptable WeChat POST (%s: %s)", type(exc).__name__, exc)
            return PlainTextResponse("bad request", status_code=400)
        if not await self._first_use(request, xml):
            log.warning("replayed WeChat signature (another body) from %s", _peer(request))
            return PlainTextResponse("forbidden", status_code=403)
        try:
            message = parse_message(xml)
            incoming = to_incoming(message, self.runtime.registry)
        except Exception as exc:
            log.warning("malformed WeChat message (%s: %s)", type(exc).__name__, exc)
            return PlainTextResponse("bad request", status_code=400)
        text = await self.answer(incoming) if incoming is not None else None
        if text is None:
            return PlainTextResponse(SUCCESS)
        reply = create_reply(text, message).render()
        if encrypted and self.crypto is not None:
            reply = self.crypto.encrypt_message(reply, secrets.token_hex(8))
        return Response(reply, media_type="application/xml")

    def _decrypt(self, body: bytes, request: Request) -> str:
        assert self.crypto is not None
        params = request.query_params
        return decrypt(
            self.crypto,
            body.decode("utf-8"),
            msg_signature=params.get("msg_signature", ""),
            timestamp=params.get("timestamp", ""),
            nonce=params.get("nonce", ""),
        )

    async def _first_use(self, request: Request, xml: str) -> bool:
        """Record the request's (timestamp, nonce); False if it came before with another body."""
        params = request.query_params
        return await first_use(
            self.service.sessions,
            CHANNEL,
            timestamp=int(params["timestamp"]),
            nonce=params["nonce"],
            body=xml,
            now=self.wall_clock(),
        )

    async def answer(self, incoming: Incoming) -> str | None:
        """The passive reply text; None means "success" (nothing now, or it comes later)."""
        work = asyncio.ensure_future(self.service.handle(incoming))
        self._keep(work)  # finishes even if WeChat hangs up or the budget runs out
        try:
            reply: Reply = await asyncio.wait_for(asyncio.shield(work), self.reply_budget)
        except TimeoutError:
            log.warning(
                "WeChat reply budget of %.1fs ran out for %s; answering success, "
                "the reply follows by customer-service message",
                self.reply_budget,
                incoming.platform_message_id,
            )
            self._keep(asyncio.create_task(self._deliver_late(incoming.customer_ref, work)))
            return None
        except Exception:
            log.exception("handling WeChat message %s failed", incoming.platform_message_id)
            return APOLOGY
        return await self._passive(reply)

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _passive(self, reply: Reply) -> str | None:
        """The text of the passive reply, its rows claimed first; None means "success".

        A WeChat retry (a duplicate) gets the passive reply it was given before again,
        plus anything never sent; nothing if customer service has (or sends) the reply.
        """
        if not reply.messages:
            return None
        ids = [message_id for message_id, _ in reply.messages]
        again: set[int] = set()
        wanted = ids
        if reply.duplicate:
            async with transaction(self.service.sessions) as session:
                rows = await queries.messages_by_id(session=session, ids=ids)
            if any((row.payload or {}).get("via") == VIA for row in rows):
                return None
            again = {
                row.id
                for row in rows
                if row.id is not None
                and row.delivery_state == "sent"
                and (row.payload or {}).get("via") == "passive"
            }
            wanted = list(reply.undelivered)
        taken = set(await self.service.claim(wanted)) if wanted else set()
        if taken:
            async with transaction(self.service.sessions) as session:
                for message_id in sorted(taken):
                    await queries.mark_delivered(
                        session=session, message_id=message_id, at=self.service.clock()
                    )
                    await queries.merge_payload(
                        session=session, message_id=message_id, changes={"via": "passive"}
                    )
        carried = [(i, message) for i, message in reply.messages if i in taken or i in again]
        return join_messages(carried) if carried else None

    async def _deliver_late(self, openid: str, work: asyncio.Future[Reply]) -> None:
        """Send a reply that overran the budget by customer-service message; never raises."""
        try:
            reply = await work
            if reply.duplicate or not reply.messages:
                return
            parts = [(message_id, m.as_plain_text()) for message_id, m in reply.messages]
            delivery = await self.customer_service.deliver(openid, parts)
        except Exception as exc:
            log.error(
                "late WeChat reply to %s failed:\n%s",
                openid,
                scrub("".join(traceback.format_exception(exc))),
            )
            return
        if delivery.sent:
            log.info("late reply to %s sent by customer-service message", openid)


async def _read_body(request: Request, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _peer(request: Request) -> str:
    return request.client.host if request.client else "?"


def channel_for(app: FastAPI) -> WeChatChannel | None:
    """The app's WeChat channel, if mounted."""
    channel: WeChatChannel | None = getattr(app.state, "wechat", None)
    return channel


async def send_text(
    app: FastAPI,
    openid: str,
    text: str,
    *,
    author: str = "agent",
    conversation_id: int | None = None,
) -> Delivery:
    """Send a customer-service message to a WeChat customer (agent replies, surveys)."""
    channel = channel_for(app)
    if channel is None:
        raise RuntimeError("the WeChat channel is not mounted (WECHAT_TOKEN is not set)")
    return await channel.send_text(openid, text, author=author, conversation_id=conversation_id)


def mount(app: FastAPI, runtime: Runtime) -> None:
    """Add the WeChat webhook when WECHAT_TOKEN is set; otherwise do nothing."""
    if runtime.settings.wechat_token is None:
        log.info("WeChat channel not mounted: WECHAT_TOKEN is not set")
        return
    channel = WeChatChannel(runtime)
    app.state.wechat = channel
    app.include_router(channel.router())
    runtime.on_startup.append(channel.start)
    runtime.on_shutdown.append(channel.close)
    runtime.pushers["wechat"] = channel.push
    log.info("WeChat channel mounted at %s (%s mode)", PATH, channel.mode)
