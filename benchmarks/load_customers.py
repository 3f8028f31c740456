"""What one simulated customer posts: the NPS interview (start, a tapped score, a typed
reason) as the bare endpoint, the web chat, Telegram and WeChat (safe mode) each receive it.

Requests are built just before a customer starts (WeChat's signatures carry the time), with
ids unique within the benchmark's process, so every customer is new to the database.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.visitors import VisitorIds
from tests.fakes.wechat_server import ACCOUNT, signature

TELEGRAM_TOKEN = "123456:BENCH-token_abc"  # noqa: S105 - the fakes\' and this run\'s own
TELEGRAM_SECRET = "bench_Secret-1"  # noqa: S105 - the fakes\' and this run\'s own
WECHAT_TOKEN = "cxbot-wechat-token-for-bench"  # noqa: S105 - the fakes\' and this run\'s own
WECHAT_APP_ID = "wx0123456789abcdef"
WECHAT_SECRET = "app-secret-for-bench"  # noqa: S105 - the fakes\' and this run\'s own
WECHAT_AES_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # base64 of bytes 0..31, no "="
SECRET_KEY = "benchmark-visitor-key-7d3f9a1c5e2b8046"  # noqa: S105 - the fakes\' and this run\'s own
REASON = "quick delivery and friendly staff"

_numbers = itertools.count(1)


@dataclass(frozen=True)
class Request:
    """One POST as the platform (or the page) sends it."""

    path: str
    body: bytes
    headers: dict[str, str]
    params: dict[str, str] | None = None


Customer = Callable[[], list[Request]]
"""Builds one new customer's three requests."""


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def bare() -> list[Request]:
    """The web chat's three bodies, posted to the bare endpoint."""
    return [Request("/echo", r.body, r.headers) for r in web()]


_visitors = VisitorIds(SECRET_KEY.encode())


def web() -> list[Request]:
    """A new visitor (a cookie signed with the server's key) answering over the web chat."""
    n = next(_numbers)
    headers = {
        "Content-Type": "application/json",
        "Cookie": f"cxbot_visitor={_visitors.issue()}",
    }
    bodies: list[dict[str, object]] = [
        {"client_id": f"bench-{n}-start", "start": True, "lang": "en"},
        {"client_id": f"bench-{n}-score", "button": "ask_score:9", "lang": "en"},
        {"client_id": f"bench-{n}-reason", "text": REASON, "lang": "en"},
    ]
    return [Request("/chat/nps/messages", _json(body), headers) for body in bodies]


def telegram() -> list[Request]:
    """A private chat: `/start nps`, a tap on 9 in the bot's keyboard, a typed reason."""
    n = next(_numbers)
    chat_id = 10_000_000 + n
    user = {"id": chat_id, "is_bot": False, "first_name": f"Bench {n}", "language_code": "en"}
    chat = {"id": chat_id, "first_name": user["first_name"], "type": "private"}
    date = int(time.time())

    def message(message_id: int, text: str) -> dict[str, object]:
        body: dict[str, object] = {
            "message_id": message_id,
            "from": user,
            "chat": chat,
            "date": date,
            "text": text,
        }
        if text.startswith("/"):
            body["entities"] = [
                {"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}
            ]
        return body

    tap = {
        "id": f"cbq-{n}",
        "from": user,
        "message": {
            "message_id": 2,
            "from": {"id": 4242, "is_bot": True, "first_name": "cxbot"},
            "chat": chat,
            "date": date,
            "text": "How likely are you to recommend us?",
        },
        "chat_instance": f"ci-{chat_id}",
        "data": "=ask_score:9",
    }
    updates = [
        {"update_id": 3 * n, "message": message(1, "/start nps")},
        {"update_id": 3 * n + 1, "callback_query": tap},
        {"update_id": 3 * n + 2, "message": message(3, REASON)},
    ]
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
    }
    return [Request("/webhooks/telegram", _json(u), headers) for u in updates]


_crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID)


def _wechat_post(openid: str, text: str) -> Request:
    """A text message as WeChat posts it in safe mode: signed query, encrypted body."""
    timestamp, nonce = str(int(time.time())), f"b{next(_numbers)}"
    xml = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{next(_numbers) + 10**15}</MsgId></xml>"
    )
    encrypted = xmltodict.parse(_crypto.encrypt_message(xml, nonce, timestamp))["xml"]
    params = {
        "signature": signature(WECHAT_TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
        "encrypt_type": "aes",
        "msg_signature": encrypted["MsgSignature"],
    }
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted['Encrypt']}]]></Encrypt></xml>"
    )
    return Request("/webhooks/wechat", body.encode(), {"Content-Type": "text/xml"}, params)


def wechat() -> list[Request]:
    """A follower: the keyword `feedback`, a typed 9 (WeChat has no buttons), a reason."""
    openid = f"o_bench_{next(_numbers)}"
    return [_wechat_post(openid, text) for text in ("feedback", "9", REASON)]


TARGETS: dict[str, Customer] = {"bare": bare, "web": web, "telegram": telegram, "wechat": wechat}
