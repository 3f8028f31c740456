"""Forged, stale and replayed WeChat webhooks, the encryption mode, and messages without MsgId."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from wechatpy.utils import WeChatSigner

from bot import wechat_signatures
from cxbot.app import create_app
from tests.bot.wechat_chat import Rig, running, wechat_settings

PATH = "/webhooks/wechat"
NPS_QUESTION = (
    "您好！您有多大可能把我们推荐给朋友或同事？\n0 = 完全不可能 · 10 = 非常可能\n请回复 0-10 的数字"
)


@pytest.fixture
async def rig(db_path: Path, db_url: str) -> AsyncIterator[Rig]:
    """The app in safe mode (the default with an EncodingAESKey)."""
    async with running(db_path, db_url) as rig:
        yield rig


@pytest.fixture
async def plain(db_path: Path, db_url: str) -> AsyncIterator[Rig]:
    """The app in plaintext mode, as with a test account (测试号): no EncodingAESKey."""
    async with running(db_path, db_url, mode="plaintext", wechat_encoding_aes_key=None) as rig:
        yield rig


def stored_messages(rig: Rig) -> int:
    [(count,)] = rig.rows("SELECT count(*) FROM message")
    return int(count)


@pytest.mark.parametrize("skew", [-330, 330, -100_000])
async def test_a_signature_with_a_stale_or_future_timestamp_is_refused(
    plain: Rig, skew: int, caplog: pytest.LogCaptureFixture
) -> None:
    customer = plain.follower("o_late")
    query = plain.server.signed_query(timestamp=str(int(time.time()) + skew))
    response = await plain.client.post(PATH, params=query, content=customer.text_xml("评价"))
    assert response.status_code == 403
    assert stored_messages(plain) == 0
    assert "timestamp more than 300 s from now" in caplog.text
    echo = await plain.client.get(PATH, params={**query, "echostr": "e1"})
    assert echo.status_code == 403
    fresh = plain.server.signed_query(timestamp=str(int(time.time()) - 250))
    accepted = await plain.client.post(PATH, params=fresh, content=customer.text_xml("评价"))
    assert plain.server.reply_content(accepted, "o_late", mode="plaintext") == NPS_QUESTION


async def test_a_replayed_signature_with_another_body_is_refused_but_a_retry_is_answered(
    plain: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    customer = plain.follower("o_victim")
    query, body = plain.server.envelope(customer.text_xml("评价"), "plaintext")
    first = await plain.client.post(PATH, params=query, content=body)
    retry = await plain.client.post(PATH, params=query, content=body)  # WeChat's own retry
    assert plain.server.reply_content(first, "o_victim", mode="plaintext") == NPS_QUESTION
    # the same answer again (its CreateTime is the second it was rendered in)
    assert plain.server.reply_content(retry, "o_victim", mode="plaintext") == NPS_QUESTION
    before = stored_messages(plain)
    forged = plain.follower("o_attacker").text_xml("0")  # the captured signature, a new body
    replayed = await plain.client.post(PATH, params=query, content=forged)
    assert replayed.status_code == 403
    assert stored_messages(plain) == before
    assert plain.rows("SELECT count(*) FROM customer WHERE external_id = 'o_attacker'") == [(0,)]
    assert "replayed WeChat signature" in caplog.text
    [(count,)] = plain.rows("SELECT count(*) FROM webhook_nonce")
    assert count == 1


async def test_old_nonces_are_pruned(plain: Rig) -> None:
    customer = plain.follower("o_pruned")
    query, body = plain.server.envelope(customer.text_xml("评价"), "plaintext")
    assert (await plain.client.post(PATH, params=query, content=body)).status_code == 200
    plain.channel.wall_clock = lambda: time.time() + 301  # five minutes on
    later = plain.server.signed_query(timestamp=str(int(time.time()) + 301))
    await plain.client.post(PATH, params=later, content=customer.text_xml("8"))
    assert plain.rows("SELECT timestamp FROM webhook_nonce") == [(int(later["timestamp"]),)]


async def test_safe_mode_refuses_plaintext_posts(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    assert rig.channel.mode == "safe"
    customer = rig.follower("o_downgrade")
    response = await rig.client.post(
        PATH, params=rig.server.signed_query(), content=customer.text_xml("评价")
    )
    assert response.status_code == 403
    assert stored_messages(rig) == 0
    assert "plaintext WeChat POST refused in safe mode" in caplog.text
    assert await customer.says("评价") == NPS_QUESTION  # encrypted: fine


def test_a_mode_that_needs_a_key_without_one_refuses_to_start(db_url: str) -> None:
    settings = wechat_settings(db_url, None, wechat_encoding_aes_key=None, wechat_mode="safe")
    with pytest.raises(ValueError, match="CXBOT_WECHAT_MODE=safe needs WECHAT_ENCODING_AES_KEY"):
        create_app(settings)


async def test_signatures_are_compared_in_constant_time(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = WeChatSigner()
    signer.add_data("token", "1795358696", "12345", "Encrypt==")
    assert wechat_signatures.sha1_signature("token", "1795358696", "12345", "Encrypt==") == (
        signer.signature
    )
    compared: list[bytes] = []
    real = wechat_signatures.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(wechat_signatures.hmac, "compare_digest", spy)
    query, body = rig.server.envelope(rig.follower("o_timing").text_xml("评价"), "safe")
    response = await rig.client.post(PATH, params=query, content=body)
    assert response.status_code == 200
    assert compared == [query["signature"].encode(), query["msg_signature"].encode()]


@pytest.mark.parametrize("msg_id", ["<MsgId>0</MsgId>", ""])
async def test_a_text_message_without_a_msgid_is_refused(plain: Rig, msg_id: str) -> None:
    customer = plain.follower("o_no_id")
    xml = re.sub(r"<MsgId>\d+</MsgId>", msg_id, customer.text_xml("评价"))
    response = await plain.client.post(PATH, params=plain.server.signed_query(), content=xml)
    assert response.status_code == 400
    assert stored_messages(plain) == 0


@pytest.mark.parametrize("sender", ["", "   "])
async def test_a_message_without_a_sender_is_refused(plain: Rig, sender: str) -> None:
    customer = plain.follower("o_someone")
    xml = re.sub(
        r"<FromUserName><!\[CDATA\[o_someone\]\]></FromUserName>",
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>",
        customer.text_xml("评价"),
    )
    assert "o_someone" not in xml
    response = await plain.client.post(PATH, params=plain.server.signed_query(), content=xml)
    assert response.status_code == 400
    assert stored_messages(plain) == 0
