"""The WeChat Official Account channel (公众号): the signed, optionally encrypted webhook.

WeChat posts XML to `POST /webhooks/wechat` and waits 5 seconds for one passive reply,
then retries the same message (3 tries in all). So:

- every POST is checked against `signature` (403 when it fails, nothing stored);
  `encrypt_type=aes` bodies (compatible and safe mode) are decrypted with the
  EncodingAESKey and the reply is encrypted back;
- a message is processed once (MsgId; events by FromUserName + CreateTime) and
  a retry gets the same reply;
- each customer message gets exactly one passive reply: all the interview's next
  messages joined into one text (WeChat has no buttons: scales show their hint);
- the conversation service gets a time budget (4 s); when it overruns, WeChat gets
  "success" and the reply follows through the customer-service API.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.wechat_client import WeChatApi
from bot.wechat_customer_service import VIA, CustomerService, Delivery
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
"""How long the conversation service may take before WeChat gets "success" instead."""
DEFAULT_FLOW = "nps"
SUCCESS = "success"
UNSUPPORTED_TYPES = ("image", "voice", "video", "shortvideo", "location", "link", "file")
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
        elif aes_key is not None:
            log.error("WECHAT_ENCODING_AES_KEY is set but WECHAT_APP_ID is not: safe mode is off")
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

    def router(self) -> APIRouter:
        """`GET` (URL verification) and `POST` (messages) on /webhooks/wechat."""
        api = APIRouter()
        api.add_api_route(PATH, self.verify, methods=["GET"], include_in_schema=False)
        api.add_api_route(PATH, self.receive, methods=["POST"], include_in_schema=False)
        return api

    def _signed(self, request: Request) -> bool:
        params = request.query_params
        signature, timestamp, nonce = (params.get(k) for k in ("signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            return False
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            return False
        return True

    async def verify(self, request: Request) -> Response:
        """WeChat's server verification: echo `echostr` when the signature checks."""
        if not self._signed(request):
            log.warning("WeChat URL verification with a bad signature from %s", _peer(request))
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(request.query_params.get("echostr", ""))

    async def receive(self, request: Request) -> Response:
        """One message or event from WeChat; answers with the passive reply."""
        if not self._signed(request):
            log.warning("WeChat POST with a bad signature from %s", _peer(request))
            return PlainTextResponse("forbidden", status_code=403)
        body = await _read_body(request, MAX_BODY_BYTES)
        if body is None:
            log.warning("WeChat POST over %d bytes refused", MAX_BODY_BYTES)
            return PlainTextResponse("request body too large", status_code=413)
        params = request.query_params
        encrypted = params.get("encrypt_type", "raw").lower() == "aes"
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
        try:
            message = parse_message(xml)
            incoming = self.incoming(message)
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
        plaintext: str = self.crypto.decrypt_message(
            body.decode("utf-8"),
            params.get("msg_signature", ""),
            params.get("timestamp", ""),
            params.get("nonce", ""),
        )
        return plaintext

    def incoming(self, message: Any) -> Incoming | None:
        """What the conversation service should hear, or None (answer "success")."""
        if message is None:
            raise ValueError("empty body")
        openid = str(message.source)
        if not openid or message.type in ("", None):
            raise ValueError("no FromUserName or MsgType")
        if message.type == "text":
            return Incoming(
                channel=CHANNEL,
                customer_ref=openid,
                kind="text",
                text=str(message.content or "").strip(),
                platform_message_id=f"msg:{message.id}",
            )
        if message.type in UNSUPPORTED_TYPES:
            return Incoming(
                channel=CHANNEL,
                customer_ref=openid,
                kind="unsupported",
                platform_message_id=f"msg:{message.id}",
            )
        if message.type != "event":
            return None
        event_id = f"ev:{openid}:{message.time}"
        flow_id = self._flow_for_event(message)
        if flow_id is None:
            return None
        return Incoming(
            channel=CHANNEL,
            customer_ref=openid,
            kind="command",
            command="start",
            flow_id=flow_id or None,
            platform_message_id=event_id,
        )

    def _flow_for_event(self, message: Any) -> str | None:
        """The flow an event starts: "" for the default one, None for no interview."""
        registry = self.runtime.registry
        event = message.event
        if event in ("subscribe", "subscribe_scan"):
            scene = str(getattr(message, "scene_id", "") or "")
            if scene and registry.current(scene) is not None:
                return scene
            return DEFAULT_FLOW if registry.current(DEFAULT_FLOW) is not None else ""
        if event in ("click", "scan"):
            key = str(getattr(message, "key", None) or getattr(message, "scene_id", "") or "")
            return key if key and registry.current(key) is not None else None
        return None

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
        if not reply.messages:
            return None
        ids = [message_id for message_id, _ in reply.messages]
        if not await self._claim_passive(ids):
            return None  # a retry of a message whose reply went by customer service
        return join_messages(reply.messages)

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _claim_passive(self, ids: list[int]) -> bool:
        """Mark the reply's rows as sent passively, unless customer service took them."""
        async with transaction(self.service.sessions) as session:
            rows = await queries.messages_by_id(session=session, ids=ids)
            if any((row.payload or {}).get("via") == VIA for row in rows):
                return False
            for row in rows:
                if row.id is not None and row.delivery_state != "sent":
                    await queries.mark_delivered(
                        session=session, message_id=row.id, at=self.service.clock()
                    )
                    await queries.merge_payload(
                        session=session, message_id=row.id, changes={"via": "passive"}
                    )
        return True

    async def _deliver_late(self, openid: str, work: asyncio.Future[Reply]) -> None:
        try:
            reply = await work
        except Exception:
            log.exception("late handling of a WeChat message failed")
            return
        if reply.duplicate or not reply.messages:
            return
        ids = [message_id for message_id, _ in reply.messages]
        delivery = await self.customer_service.deliver(
            openid, ids, join_messages(reply.messages), claim=True
        )
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
    mode = "safe/compatible mode accepted" if channel.crypto else "plaintext mode only"
    log.info("WeChat channel mounted at %s (%s)", PATH, mode)
