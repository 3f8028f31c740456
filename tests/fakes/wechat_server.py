"""Plays WeChat's servers against our webhook: signed, optionally encrypted XML posts.

Requests are built the way WeChat builds them, with wechatpy's own crypto: the query
carries `signature` (sha1 of the sorted token, timestamp, nonce) on every request; in
compatible and safe mode also `encrypt_type=aes` and `msg_signature`, and the body holds
`<Encrypt>` (compatible mode keeps the plaintext fields beside it). Replies are
checked and decrypted the way WeChat would, then parsed.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto

Mode = Literal["plaintext", "compatible", "safe"]
PATH = "/webhooks/wechat"
ACCOUNT = "gh_cxbot0test01"


def signature(token: str, timestamp: str, nonce: str) -> str:
    """The `signature` query parameter WeChat sends."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


@dataclass
class Exchange:
    """One message and what came back."""

    sent: str
    status: int
    reply: str | None
    """The passive reply's Content; None for "success"."""
    seconds: float


@dataclass
class WeChatServer:
    """WeChat's side of the webhook for one Official Account."""

    client: httpx.AsyncClient
    token: str
    app_id: str
    aes_key: str
    mode: Mode = "safe"
    crypto: WeChatCrypto = field(init=False)

    def __post_init__(self) -> None:
        self.crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)

    def signed_query(self, timestamp: str | None = None) -> dict[str, str]:
        """timestamp, nonce and signature, as on every request."""
        timestamp = timestamp or str(int(time.time()))
        nonce = str(secrets.randbelow(10**9))
        return {
            "signature": signature(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    async def verify(self, echostr: str, *, token: str | None = None) -> httpx.Response:
        """The URL check WeChat makes when the admin saves the server settings."""
        query = self.signed_query()
        if token is not None:  # signed with another token
            query["signature"] = signature(token, query["timestamp"], query["nonce"])
        return await self.client.get(PATH, params={**query, "echostr": echostr})

    def envelope(self, xml: str, mode: Mode) -> tuple[dict[str, str], str]:
        """The query and body WeChat posts for a plaintext message in `mode`."""
        query = self.signed_query()
        if mode == "plaintext":
            return query, xml
        encrypted = xmltodict.parse(
            self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        )["xml"]
        query |= {"encrypt_type": "aes", "msg_signature": encrypted["MsgSignature"]}
        cipher = f"<Encrypt><![CDATA[{encrypted['Encrypt']}]]></Encrypt>"
        if mode == "compatible":
            return query, xml.replace("</xml>", f"{cipher}</xml>")
        return query, f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>{cipher}</xml>"

    async def post(self, xml: str, *, mode: Mode | None = None) -> httpx.Response:
        """Post one message or event."""
        mode = mode or self.mode
        query, body = self.envelope(xml, mode)
        return await self.client.post(
            PATH, params={**query, "openid": _field(xml, "FromUserName")}, content=body
        )

    def reply_content(self, response: httpx.Response, openid: str, *, mode: Mode) -> str | None:
        """The passive reply's text as the customer sees it; None for "success"."""
        assert response.status_code == 200, response.text
        if response.text in ("success", ""):
            return None
        xml = response.text
        if mode != "plaintext":
            envelope = xmltodict.parse(xml)["xml"]
            xml = self.crypto.decrypt_message(
                xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        reply = xmltodict.parse(xml)["xml"]
        assert reply["ToUserName"] == openid
        assert reply["FromUserName"] == ACCOUNT
        assert reply["MsgType"] == "text"
        return str(reply["Content"])


_message_ids = itertools.count(24_000_000_000_000_001)
_event_times = itertools.count(int(time.time()))


@dataclass
class Follower:
    """A customer chatting with the account; keeps what was said and answered."""

    server: WeChatServer
    openid: str
    exchanges: list[Exchange] = field(default_factory=list)

    def text_xml(self, text: str, msg_id: int | None = None) -> str:
        """A text message as WeChat posts it."""
        msg_id = msg_id or next(_message_ids)
        return _xml(
            self.openid, "text", f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId>"
        )

    def event_xml(self, event: str, key: str | None = None, created: int | None = None) -> str:
        """An event (subscribe, CLICK, …) as WeChat posts it."""
        extra = f"<Event><![CDATA[{event}]]></Event>"
        if key is not None:
            extra += f"<EventKey><![CDATA[{key}]]></EventKey>"
        return _xml(self.openid, "event", extra, created or next(_event_times))

    async def send(self, xml: str, label: str, *, mode: Mode | None = None) -> str | None:
        """Post, decode the passive reply, remember the exchange; the reply's text."""
        mode = mode or self.server.mode
        started = time.perf_counter()
        response = await self.server.post(xml, mode=mode)
        seconds = time.perf_counter() - started
        content = self.server.reply_content(response, self.openid, mode=mode)
        self.exchanges.append(Exchange(label, response.status_code, content, seconds))
        return content

    async def says(self, text: str, *, msg_id: int | None = None) -> str | None:
        """Send a text message; the passive reply's text."""
        return await self.send(self.text_xml(text, msg_id), text)

    async def follows(self, scene: str | None = None) -> str | None:
        """Subscribe to the account (from a QR code with `scene`)."""
        key = f"qrscene_{scene}" if scene else None
        return await self.send(self.event_xml("subscribe", key), "/start")

    async def clicks(self, key: str) -> str | None:
        """Tap a CLICK menu item."""
        return await self.send(self.event_xml("CLICK", key), "/start")


def _xml(openid: str, msg_type: str, extra: str, created: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{extra}</xml>"
    )


def _field(xml: str, name: str) -> str:
    return xml.split(f"<{name}><![CDATA[", 1)[1].split("]]>", 1)[0]
