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
- the replay-protection write and the conversation service share one time budget (4 s).
  The service stores the message and claims its reply for this process in one
  transaction; when that is done in time, the reply is recorded as passive and goes back
  in the answer. When the message is stored but the budget runs out before the passive
  reply is recorded, WeChat gets "success" and the reply follows through the
  customer-service API (by this process, or by the delivery sweeper of any process if
  this one dies). When the budget runs out before the message is stored, WeChat gets a
  503 and no "success": its retry finds the work undone (or done, and answered once).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.channel import Hook, Incoming, NonceStore, Outbox, Reply, Service, pseudonym
from bot.wechat_client import WeChatApi
from bot.wechat_customer_service import CustomerServiceSender, join_messages
from bot.wechat_messages import to_incoming
from bot.wechat_signatures import decrypt, first_use, refusal
from flows.registry import FlowRegistry

log = logging.getLogger(__name__)

CHANNEL = "wechat"
PATH = "/webhooks/wechat"
MAX_BODY_BYTES = 64 * 1024
"""WeChat's messages are a few KB; anything far larger is not from WeChat."""
SUCCESS = "success"
Mode = Literal["plaintext", "compatible", "safe"]


@dataclass(frozen=True)
class WeChatConfig:
    """What the channel needs from the settings."""

    token: str
    app_id: str | None
    app_secret: str | None
    encoding_aes_key: str | None
    api_base_url: str
    reply_budget_seconds: float = 4.0
    mode: Mode | None = None


class NotStored(Exception):
    """The message could not be stored in time (or at all): WeChat must not hear success."""


class WeChatChannel:
    """The webhook, the passive replies and the customer-service sends of one account."""

    def __init__(
        self,
        config: WeChatConfig,
        *,
        service: Service,
        outbox: Outbox,
        registry: FlowRegistry,
        nonces: NonceStore,
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.registry = registry
        self.nonces = nonces
        self.token: str = config.token
        self.app_id: str | None = config.app_id
        aes_key = config.encoding_aes_key
        self.crypto: WeChatCrypto | None = None
        if aes_key is not None and self.app_id:
            try:
                self.crypto = WeChatCrypto(self.token, aes_key, self.app_id)
            except (AssertionError, ValueError) as exc:
                raise ValueError(
                    "WECHAT_ENCODING_AES_KEY must be the 43-character EncodingAESKey "
                    "from the account's server settings"
                ) from exc
        self.mode: Mode = config.mode or ("safe" if aes_key is not None else "plaintext")
        if self.mode != "plaintext" and self.crypto is None:
            raise ValueError(
                f"CXBOT_WECHAT_MODE={self.mode} needs WECHAT_ENCODING_AES_KEY and WECHAT_APP_ID"
            )
        self.wall_clock: Callable[[], float] = time.time
        """Seconds since the epoch, for the freshness of signed requests."""
        self.reply_budget = config.reply_budget_seconds
        self.api: WeChatApi | None = None
        if self.app_id and config.app_secret:
            self.api = WeChatApi(
                app_id=self.app_id, secret=config.app_secret, base_url=config.api_base_url
            )
        else:
            log.warning("WeChat customer-service sends are off: set WECHAT_APP_ID and SECRET")
        self.sender = CustomerServiceSender(self.api)
        self._late: set[asyncio.Future[Any]] = set()
        """Work still running: handling and late customer-service replies."""

    @property
    def hooks(self) -> tuple[Hook, Hook]:
        """(start, stop) for the app's lifespan."""
        return self.start, self.close

    async def start(self) -> None:
        """Nothing to connect: the API client is made on first use."""

    async def close(self) -> None:
        """Let late replies finish, then close the API client."""
        await self.drain(seconds=10.0)
        if self.api is not None:
            self.api.close()

    async def drain(self, *, seconds: float | None = None) -> None:
        """Wait for work that outlived its request (late replies)."""
        if self._late:
            await asyncio.wait(set(self._late), timeout=seconds)

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
        try:
            message = parse_message(xml)
            incoming = to_incoming(message, self.registry)
        except Exception as exc:
            log.warning("malformed WeChat message refused (%s)", type(exc).__name__)
            return PlainTextResponse("bad request", status_code=400)
        try:
            text = await self.answer(incoming, self._first_use(request, xml))
        except PermissionError:
            log.warning("replayed WeChat signature (another body) from %s", _peer(request))
            return PlainTextResponse("forbidden", status_code=403)
        except NotStored as exc:
            log.warning("WeChat message not stored (%s); answered 503, WeChat retries", exc)
            return PlainTextResponse("try again", status_code=503)
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

    async def _first_use(self, request: Request, xml: str) -> None:
        """Record the request's (timestamp, nonce); PermissionError if it came before with
        another body (a replay)."""
        params = request.query_params
        if not await first_use(
            self.nonces,
            CHANNEL,
            timestamp=int(params["timestamp"]),
            nonce=params["nonce"],
            body=xml,
            now=self.wall_clock(),
        ):
            raise PermissionError("replayed signature")

    async def answer(self, incoming: Incoming | None, check: Awaitable[None]) -> str | None:
        """The passive reply text; None means "success" (nothing now, or it comes later).

        `check` (the replay-protection write) and handling share the reply budget. Raises
        NotStored when the message could not be stored within it (WeChat then retries).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_budget
        work = asyncio.ensure_future(self._handle(incoming, check))
        self._keep(work)  # finishes even if WeChat hangs up or the budget runs out
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), self.reply_budget)
        except TimeoutError:
            self._keep(asyncio.create_task(self._deliver_late(work)))
            raise NotStored(f"the {self.reply_budget:.1f}s budget ran out") from None
        except PermissionError:
            raise
        except Exception as exc:
            raise NotStored(type(exc).__name__) from None
        if reply is None:
            return None
        return await self._passive(reply, deadline - loop.time())

    async def _handle(self, incoming: Incoming | None, check: Awaitable[None]) -> Reply | None:
        await check
        return await self.service.handle(incoming) if incoming is not None else None

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _passive(self, reply: Reply, seconds_left: float) -> str | None:
        """The text of the passive reply, recorded first; None means "success".

        A WeChat retry (a duplicate) gets the passive reply it was given before again, plus
        anything never sent; nothing if the reply went (or goes) by customer service. When
        the budget runs out before the passive reply is recorded, the message is stored
        already: WeChat hears "success" and the reply follows by customer service.
        """
        held = reply.to_send()
        again = [m for i, m in reply.messages if i in reply.passive]
        if held:
            ids = [message_id for message_id, _ in held]
            try:
                await asyncio.wait_for(
                    self.outbox.delivered_inline(ids, via="passive"), max(seconds_left, 0.05)
                )
            except Exception as exc:
                log.warning(
                    "passive reply to %s not recorded in time (%s); it follows by "
                    "customer-service message",
                    pseudonym(reply.recipient.address if reply.recipient else None),
                    type(exc).__name__,
                )
                self._keep(asyncio.create_task(self.outbox.deliver(reply)))
                return None
        carried = again + [m for _, m in held]
        return join_messages(carried) if carried else None

    async def _deliver_late(self, work: asyncio.Future[Reply | None]) -> None:
        """Send a reply that overran the budget by customer-service message; never raises."""
        try:
            reply = await work
            if reply is not None:
                report = await self.outbox.deliver(reply)
                if report.sent:
                    log.info("late WeChat reply sent by customer-service message")
        except Exception as exc:
            log.warning("late WeChat reply not sent here (%s)", type(exc).__name__)


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
