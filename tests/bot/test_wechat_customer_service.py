"""Customer-service messages (客服消息) and the shared access token, against the fake API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import wechat
from bot.wechat_client import WeChatApi
from storage.database import Sessions
from tests.bot.wechat_chat import APP_ID, SECRET, Rig, running
from tests.conftest import Clock
from tests.fakes.wechat_api import FakeWeChatApi


@pytest.fixture
async def rig(db_path: Path, db_url: str) -> AsyncIterator[Rig]:
    """The app in safe mode, WeChat's side and the fake API."""
    async with running(db_path, db_url) as rig:
        yield rig


def out_rows(rig: Rig) -> list[tuple[str, str, str, str | None, dict[str, object]]]:
    """(author, text, delivery_state, error, payload) of outbound customer-service rows."""
    rows = rig.rows(
        "SELECT author, text, delivery_state, error, payload FROM message "
        "WHERE direction = 'out' AND json_extract(payload, '$.via') = 'customer_service' "
        "ORDER BY id"
    )
    return [(a, t, s, e, json.loads(p)) for a, t, s, e, p in rows]


async def test_an_agent_reply_goes_out_and_is_recorded(rig: Rig) -> None:
    customer = rig.follower("o_agent")
    await customer.says("评价")
    await customer.says("2")
    delivery = await wechat.send_text(rig.app, "o_agent", "您好，我是客服小王，看到您的反馈了。")
    assert delivery.sent and delivery.error is None
    assert rig.api.sent == [
        {
            "touser": "o_agent",
            "msgtype": "text",
            "text": {"content": "您好，我是客服小王，看到您的反馈了。"},
        }
    ]
    [(author, _, state, error, payload)] = out_rows(rig)
    assert (author, state, error) == ("agent", "sent", None)
    assert payload == {"via": "customer_service", "batch": delivery.message_ids[0]}
    token_call = rig.api.calls[0]
    assert token_call.path == "/cgi-bin/token"  # WECHAT_API_BASE_URL holds for the token too
    assert token_call.params == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": SECRET,
    }
    [(token, expires_at)] = rig.rows("SELECT access_token, expires_at FROM platform_token")
    assert token == "AT1" and expires_at


async def test_a_send_outside_the_48_hour_window_is_refused_and_recorded(rig: Rig) -> None:
    service = rig.app.state.runtime.service
    real_clock = service.clock
    service.clock = Clock(datetime.now(UTC) - timedelta(hours=49))
    await rig.follower("o_quiet").says("评价")
    service.clock = real_clock
    delivery = await rig.channel.send_text("o_quiet", "还记得我们吗？")
    assert not delivery.sent
    assert delivery.error is not None and "48-hour" in delivery.error
    [(_, text, state, error, _)] = out_rows(rig)
    assert (text, state) == ("还记得我们吗？", "failed")
    assert error is not None
    assert error.startswith("refused: outside the 48-hour customer-service window")
    assert "49 hours ago" in error
    assert rig.api.calls == []  # WeChat was never asked


async def test_five_sends_per_customer_message_then_refused_until_the_customer_writes(
    rig: Rig,
) -> None:
    customer = rig.follower("o_quota")
    await customer.says("评价")
    results = [await rig.channel.send_text("o_quota", f"第 {n} 条") for n in range(1, 7)]
    assert [r.sent for r in results] == [True] * 5 + [False]
    assert results[5].error is not None and "quota used: 5 of 5" in results[5].error
    assert len(rig.api.sent) == 5
    await customer.says("9")  # a new customer message opens a new quota
    assert (await rig.channel.send_text("o_quota", "第 7 条")).sent
    assert [row[2] for row in out_rows(rig)] == ["sent"] * 5 + ["failed", "sent"]


async def test_an_invalid_token_is_refreshed_once_and_the_send_retried(rig: Rig) -> None:
    await rig.follower("o_token").says("评价")
    assert (await rig.channel.send_text("o_token", "一")).sent
    rig.api.revoke_tokens()  # e.g. someone fetched a token with the same AppSecret elsewhere
    assert (await rig.channel.send_text("o_token", "二")).sent
    assert [c.answer.get("errcode") for c in rig.api.calls if "send" in c.path] == [0, 40001, 0]
    assert rig.rows("SELECT access_token FROM platform_token") == [("AT2",)]


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [
        (45015, "more than 48 hours since the customer's last message"),
        (45047, "quota for this customer message is used up"),
    ],
)
async def test_wechat_refusals_are_recorded_on_the_message(
    rig: Rig, errcode: int, reason: str
) -> None:
    await rig.follower("o_refused").says("评价")
    rig.api.fail_next(errcode)
    delivery = await rig.channel.send_text("o_refused", "您好")
    assert (delivery.sent, delivery.errcode) == (False, errcode)
    [(_, _, state, error, _)] = out_rows(rig)
    assert state == "failed"
    assert error is not None and error.startswith(f"errcode {errcode}: ") and reason in error


async def test_a_send_to_an_unknown_openid_is_refused(rig: Rig) -> None:
    delivery = await rig.channel.send_text("o_stranger", "您好")
    assert not delivery.sent and delivery.message_ids == ()
    assert rig.api.calls == []


async def test_processes_share_one_token_and_refresh_it_before_expiry(
    sessions: Sessions, clock: Clock
) -> None:
    fake = FakeWeChatApi(APP_ID, SECRET, expires_in=7200)
    await fake.start()
    processes = [
        WeChatApi(
            app_id=APP_ID, secret=SECRET, base_url=fake.base_url, sessions=sessions, clock=clock
        )
        for _ in range(3)
    ]
    try:
        tokens = await asyncio.gather(*(p.access_token() for p in processes for _ in range(4)))
        assert set(tokens) == {"AT1"}
        assert fake.tokens == ["AT1"]  # one fetch for twelve callers in three "processes"
        clock.advance(seconds=7200 - 299)  # inside the 5-minute margin before expiry
        assert await processes[1].access_token() == "AT2"
        assert await processes[0].access_token() == "AT2"
        assert fake.tokens == ["AT1", "AT2"]
    finally:
        for process in processes:
            process.close()
        await fake.stop()
