"""Odd fields in correctly signed WeChat posts: a 4xx (or "success"), never a 5xx.

Every request carries a valid signature for what it holds (odd timestamps and nonces
included), so the fuzzing reaches the parsing: query parameters, the XML fields of real
messages and events (each set to odd values, nested, repeated or removed), raw bodies
(non-UTF-8, entity bombs, deep nesting) and encrypted envelopes with junk inside.
benchmarks/fuzz.py runs the same with every value on every field.
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import strategies as st

from bot.wechat_signatures import sha1_signature
from tests.bot.fuzz_shapes import OPENID, WECHAT_KINDS, wechat_fields
from tests.bot.wechat_chat import TOKEN, Rig, running
from tests.fakes.wechat_server import signature
from tests.fuzzing import LONG, Tally, run_property

pytestmark = pytest.mark.backends("sqlite", "postgresql")

PATH = "/webhooks/wechat"
RANDOM_EXAMPLES = 2000 if LONG else 200
STRIDE = 1 if LONG else 3
"""Each field gets every 3rd odd value here; benchmarks/fuzz.py tries them all."""

ODD_TEXT = [
    "",
    " ",
    "text",
    "١٧٠٠٠٠٠٠٠٠",
    "１７００００００００",
    "²",
    "-1",
    "0",
    "99999999999999999999999999999",
    "1e400",
    "NaN",
    "x" * 5000,
    "服务😞" * 50,
    "\x00",
    "\ud800",  # not encodable: the body is sent with the surrogate's raw bytes
    "<a><b>nested</b></a>",
    "]]><evil/>",
    "&amp;&lt;",
]
"""Field contents WeChat would not send; `<…>` ones go in as markup, not text."""
ODD_TIMESTAMPS = [
    "١٧٠٠٠٠٠٠٠٠",
    "²",
    "１７００００００００",
    "-1",
    "-" + str(int(time.time())),
    "9" * 40,
    "1e9",
    " 1700000000",
    "now",
]
ODD_NONCES = ["", "x" * 65, "随机", "\x00", "a b", "1" * 64]

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]><xml><ToUserName>a</ToUserName><FromUserName>&lol9;</FromUserName>"
    "<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>&e;</Content>"
    "<MsgId>1</MsgId></xml>"
)
RAW_BODIES: list[bytes] = [
    b"",
    b"not xml",
    b"\xff\xfe<\x00x\x00",  # UTF-16 with a BOM
    b"<xml><Content>\xc3\x28</Content></xml>",  # invalid UTF-8
    BOMB.encode(),
    EXTERNAL.encode(),
    b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>",
    b"<xml>" + b"<a>" * 100_000,  # over the size limit
    b"<xml></xml>",
    b"<notxml><MsgType>text</MsgType></notxml>",
    b"<xml><MsgType>text</MsgType><MsgType>event</MsgType></xml>",
    b"<?xml version='1.0' encoding='gbk'?><xml><MsgType>text</MsgType></xml>",
]


def to_xml(fields: dict[str, Any]) -> bytes:
    """The message as WeChat posts it; odd values that look like markup go in as markup."""
    parts = ["<xml>"]
    for name, value in fields.items():
        if isinstance(value, list):  # a repeated element
            parts.extend(f"<{name}>{escape(str(v))}</{name}>" for v in value)
        elif isinstance(value, str) and value.startswith("<"):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}>{escape(str(value))}</{name}>")
    parts.append("</xml>")
    return "".join(parts).encode("utf-8", "surrogatepass")


@dataclass
class Poster:
    """Signs and posts bodies to the webhook, as WeChat would, counting the answers."""

    rig: Rig
    tally: Tally
    caplog: pytest.LogCaptureFixture
    problems: list[str] = field(default_factory=list)

    def query(self, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        """A correctly signed query for this timestamp and nonce."""
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        nonce = secrets.token_hex(8) if nonce is None else nonce
        return {
            "signature": signature(TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def encrypted(self, xml: bytes, query: dict[str, str]) -> tuple[dict[str, str], bytes]:
        """The safe-mode envelope of `xml` (which may be junk), correctly signed."""
        plain = xml.decode("utf-8", "surrogateescape")
        crypto = self.rig.server.crypto
        try:
            cipher = crypto.encrypt_message(plain, query["nonce"], query["timestamp"])
        except Exception:  # text the crypto cannot encode: send it as random bytes
            cipher = None
        encrypt = _field(cipher, "Encrypt") if cipher else base64.b64encode(secrets.token_bytes(48))
        return self.sealed(encrypt if isinstance(encrypt, str) else encrypt.decode(), query)

    def sealed(self, encrypt: str, query: dict[str, str]) -> tuple[dict[str, str], bytes]:
        """An envelope around any `Encrypt` text, with a valid msg_signature for it."""
        msg_signature = sha1_signature(TOKEN, query["timestamp"], query["nonce"], encrypt)
        body = f"<xml><ToUserName>gh_x</ToUserName><Encrypt>{escape(encrypt)}</Encrypt></xml>"
        query = query | {"encrypt_type": "aes", "msg_signature": msg_signature}
        return query, body.encode("utf-8", "surrogatepass")

    async def post(self, what: str, body: bytes, query: dict[str, str] | None = None) -> None:
        """Post; a 5xx, an unexpected status or a refusal without a log line is a problem."""
        self.caplog.clear()
        params = self.query() if query is None else query
        status = await self.tally.post(self.rig.client, PATH, what, params=params, content=body)
        warned = any(
            r.levelno >= logging.WARNING and r.name.startswith("bot.wechat")
            for r in self.caplog.records
        )
        if status not in (200, 400, 403, 413):
            self.problems.append(f"{status} for {what}")
        elif status != 200 and not warned:
            self.problems.append(f"{status} without a log line for {what}")


def _field(xml: str, name: str) -> str:
    return xml.split(f"<{name}><![CDATA[", 1)[1].split("]]>", 1)[0]


def field_cases(stride: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Real messages with one field changed to an odd value, repeated, or removed."""
    count = 0
    for kind in WECHAT_KINDS:
        yield f"{kind} (as is)", wechat_fields(kind)
        for name in wechat_fields(kind):
            odd: list[Any] = [*ODD_TEXT, ["1", "2"], None]
            for value in odd:
                count += 1
                if count % stride:
                    continue
                fields = wechat_fields(kind)
                if value is None:
                    del fields[name]
                else:
                    fields[name] = value
                yield f"{kind}: {name} = {value!r:.40}", fields
        for msg_type in ("TEXT", "event", "unknown", "device_text", "miniprogrampage"):
            yield f"{kind}: MsgType = {msg_type}", wechat_fields(kind) | {"MsgType": msg_type}


async def fuzz_wechat(poster: Poster, stride: int, random_examples: int) -> None:
    """The whole WeChat fuzz run: fields, query parameters, raw bodies, envelopes, random."""
    for what, fields in field_cases(stride):
        body = to_xml(fields)
        await poster.post(f"plaintext {what}", body)
        query, sealed = poster.encrypted(body, poster.query())
        await poster.post(f"encrypted {what}", sealed, query)
    text = to_xml(wechat_fields("text"))
    for timestamp in ODD_TIMESTAMPS:
        await poster.post(f"timestamp {timestamp!r}", text, poster.query(timestamp=timestamp))
    for nonce in ODD_NONCES:
        await poster.post(f"nonce {nonce!r}", text, poster.query(nonce=nonce))
    no_nonce = poster.query()
    del no_nonce["nonce"]
    await poster.post("no nonce", text, no_nonce)
    await poster.post("encrypt_type=rot13", text, poster.query() | {"encrypt_type": "rot13"})
    for index, raw in enumerate(RAW_BODIES):
        await poster.post(f"raw body #{index}", raw)
        query, sealed = poster.encrypted(raw, poster.query())
        await poster.post(f"encrypted raw body #{index}", sealed, query)
    for junk in ("", "!!!", "QUJD", base64.b64encode(b"\x00" * 15).decode(), "x" * 4000):
        query, sealed = poster.sealed(junk, poster.query())
        await poster.post(f"Encrypt = {junk[:20]!r}", sealed, query)
    other = poster.rig.server.crypto.encrypt_message(text.decode(), "n", "1")
    query, sealed = poster.sealed(_field(other, "Encrypt"), poster.query())
    await poster.post("ciphertext of another request, signed anew", sealed, query)

    async def check(example: tuple[str, dict[str, Any], bool]) -> None:
        kind, changes, encrypted = example
        fields = wechat_fields(kind) | changes
        fields = {k: v for k, v in fields.items() if v is not None}
        body, query = to_xml(fields), poster.query()
        if encrypted:
            query, body = poster.encrypted(body, query)
        before = len(poster.problems)
        await poster.post(
            f"random {'encrypted ' if encrypted else ''}{kind} {changes!r:.200}", body, query
        )
        assert len(poster.problems) == before, poster.problems[-1]

    names = st.sampled_from(
        [
            "FromUserName",
            "ToUserName",
            "CreateTime",
            "MsgType",
            "Content",
            "MsgId",
            "Event",
            "EventKey",
            "MediaId",
            "Latitude",
            "Ticket",
        ]
    )
    values = (
        st.none()
        | st.sampled_from(ODD_TEXT)
        | st.text(max_size=30)
        | st.integers().map(str)
        | st.lists(st.text(max_size=5), min_size=2, max_size=3)
    )
    examples = st.tuples(
        st.sampled_from(WECHAT_KINDS), st.dictionaries(names, values, max_size=4), st.booleans()
    )
    await run_property(examples, random_examples, check)


async def test_odd_signed_requests_are_refused_never_5xx(
    backend: str,
    db_path: Path,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    tally = Tally(f"wechat webhook [{backend}]")
    async with running(db_path, db_url, mode="compatible", wechat_mode="compatible") as rig:
        poster = Poster(rig, tally, caplog)
        await fuzz_wechat(poster, STRIDE, RANDOM_EXAMPLES)
        follower = rig.follower("o_after_the_fuzz")
        assert await follower.says("你好") is not None, "no reply after the fuzzing"
    with capsys.disabled():
        print(f"\n  {tally.line()}")
    assert poster.problems == []
    assert tally.statuses[400] > 0 and tally.statuses[200] > 0


@pytest.mark.parametrize(
    "change",
    [
        {"FromUserName": "x" * 5000},  # was a 503 on PostgreSQL (the column is shorter)
        {"FromUserName": "<a><b>nested</b></a>"},  # was stored as "{'a': {'b': 'nested'}}"
        {"Content": ["1", "2"]},  # was stored as "['1', '2']"
        {"MsgId": "１７００００００００"},  # int() read it as 1700000000
        {"CreateTime": "NaN"},
    ],
)
async def test_an_odd_field_is_refused_and_nothing_stored(
    backend: str, db_path: Path, db_url: str, caplog: pytest.LogCaptureFixture, change: Any
) -> None:
    async with running(db_path, db_url, mode="plaintext", wechat_mode="plaintext") as rig:
        poster = Poster(rig, Tally("wechat"), caplog)
        await poster.post("odd field", to_xml(wechat_fields("text") | change))
        stored = await rig.app.state.runtime.service.history(
            channel="wechat", customer_ref=OPENID, after_id=0
        )
    assert poster.tally.statuses == {400: 1}
    assert poster.problems == []
    assert "malformed WeChat message refused" in caplog.text
    assert not stored.lines
