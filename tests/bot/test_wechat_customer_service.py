"""Customer-service messages (客服消息) and the shared access token, against the fake API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.wechat_client import TokenUnavailable, WeChatApi
from cxbot.conversations import Incoming
from cxbot.wechat_tokens import SharedToken
from storage import tokens
from storage.database import Sessions
from tests.bot.wechat_chat import APP_ID, SECRET, Rig, running
from tests.conftest import Clock
from tests.fakes.wechat_api import FakeWeChatApi


def shared_api(fake: FakeWeChatApi, sessions: Sessions, clock: Clock) -> WeChatApi:
    """One app process's WeChat client with the token shared through the database."""
    api = WeChatApi(app_id=APP_ID, secret=SECRET, base_url=fake.base_url)
    api.tokens = SharedToken(app_id=APP_ID, fetch=api.fetch_token, sessions=sessions, clock=clock)
    return api


def tokens_of(api: WeChatApi) -> SharedToken:
    """The shared token source of a client made by `shared_api`."""
    assert isinstance(api.tokens, SharedToken)
    return api.tokens


@pytest.fixture
async def rig(db_path: Path, db_url: str) -> AsyncIterator[Rig]:
    """The app in safe mode, WeChat's side and the fake API."""
    async with running(db_path, db_url) as rig:
        yield rig


def out_rows(rig: Rig) -> list[tuple[str, str, str, str | None, dict[str, object]]]:
    """(author, text, delivery_state, error, payload) of the agent's outbound rows."""
    rows = rig.rows(
        "SELECT author, text, delivery_state, error, payload FROM message "
        "WHERE direction = 'out' AND author = 'agent' ORDER BY id"
    )
    return [(a, t, s, e, json.loads(p)) for a, t, s, e, p in rows]


async def test_an_agent_reply_goes_out_and_is_recorded(rig: Rig) -> None:
    customer = rig.follower("o_agent")
    await customer.says("评价")
    await customer.says("2")
    delivery = await rig.send_text("o_agent", "您好，我是客服小王，看到您的反馈了。")
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
    delivery = await rig.send_text("o_quiet", "还记得我们吗？")
    assert not delivery.sent
    assert delivery.error is not None and "48-hour" in delivery.error
    [(_, text, state, error, _)] = out_rows(rig)
    assert (text, state) == ("还记得我们吗？", "failed")
    assert error is not None
    assert error.startswith("refused: outside the 48-hour window")
    assert "49 hours ago" in error
    assert rig.api.calls == []  # WeChat was never asked


async def test_five_sends_per_customer_message_then_refused_until_the_customer_writes(
    rig: Rig,
) -> None:
    customer = rig.follower("o_quota")
    await customer.says("评价")
    results = [await rig.send_text("o_quota", f"第 {n} 条") for n in range(1, 7)]
    assert [r.sent for r in results] == [True] * 5 + [False]
    assert results[5].error is not None and "quota used: 5 of 5" in results[5].error
    assert len(rig.api.sent) == 5
    await customer.says("9")  # a new customer message opens a new quota
    assert (await rig.send_text("o_quota", "第 7 条")).sent
    assert [row[2] for row in out_rows(rig)] == ["sent"] * 5 + ["failed", "sent"]


async def test_an_invalid_token_is_refreshed_once_and_the_send_retried(rig: Rig) -> None:
    await rig.follower("o_token").says("评价")
    assert (await rig.send_text("o_token", "一")).sent
    rig.api.revoke_tokens()  # e.g. someone fetched a token with the same AppSecret elsewhere
    assert (await rig.send_text("o_token", "二")).sent
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
    delivery = await rig.send_text("o_refused", "您好")
    assert not delivery.sent and (delivery.error or "").startswith(f"errcode {errcode}")
    [(_, _, state, error, _)] = out_rows(rig)
    assert state == "failed"
    assert error is not None and error.startswith(f"errcode {errcode}: ") and reason in error


async def test_a_send_to_an_unknown_openid_is_refused(rig: Rig) -> None:
    delivery = await rig.send_text("o_stranger", "您好")
    assert not delivery.sent and delivery.message_ids == ()
    assert delivery.error == "no wechat customer with this id"
    assert rig.api.calls == []


async def test_processes_share_one_token_and_refresh_it_before_expiry(
    sessions: Sessions, clock: Clock
) -> None:
    fake = FakeWeChatApi(APP_ID, SECRET, expires_in=7200)
    await fake.start()
    processes = [shared_api(fake, sessions, clock) for _ in range(3)]
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


async def test_secrets_never_reach_the_rows_or_the_log(
    db_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(db_path, db_url) as rig:
        await rig.follower("o_secret").says("评价")
        assert (await rig.send_text("o_secret", "一")).sent  # token AT1 fetched
        await rig.api.stop()  # WeChat unreachable: requests puts the URL in its error
        delivery = await rig.send_text("o_secret", "二")
        assert not delivery.sent and delivery.report.deferred  # tried again later
        assert delivery.error is not None and "access_token=***" in delivery.error
        errors = [e for _, _, _, e, _ in out_rows(rig) if e]
    assert errors and all("AT1" not in e and SECRET not in e for e in errors)
    assert "AT1" not in caplog.text


async def test_a_failed_token_fetch_does_not_leak_the_app_secret(
    db_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(db_path, db_url, wechat_api_base_url="http://127.0.0.1:9") as rig:
        await rig.follower("o_secret").says("评价")
        delivery = await rig.send_text("o_secret", "您好")
        assert not delivery.sent
        assert delivery.error is not None and "secret=***" in delivery.error
        [(_, _, state, error, _)] = out_rows(rig)
        [(last_error,)] = rig.rows("SELECT last_error FROM platform_token")
    assert state == "pending" and error is not None and SECRET not in error  # retried later
    assert SECRET not in last_error and SECRET not in caplog.text
    assert "ConnectionError" in error


async def test_a_token_answer_without_a_token_is_recorded_as_a_failed_send(rig: Rig) -> None:
    await rig.follower("o_no_token").says("评价")
    rig.api.answer_tokens_with({"expires_in": 7200})  # no access_token: a KeyError inside
    delivery = await rig.send_text("o_no_token", "您好")
    assert not delivery.sent
    [(_, _, state, error, _)] = out_rows(rig)
    assert state == "pending" and error is not None and "access_token" in error


async def test_an_unexpected_error_in_a_send_is_logged_and_recorded_without_secrets(
    rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = rig.follower("o_crash")
    await customer.says("评价")
    api = rig.channel.api
    assert api is not None

    async def broken_send(openid: str, text: str) -> dict[str, object]:
        raise RuntimeError(f"exploded at /send?access_token=AT9&x=1 for {openid}")

    monkeypatch.setattr(api, "send_text", broken_send)
    delivery = await rig.send_text("o_crash", "您好")
    assert not delivery.sent and delivery.report.deferred  # tried again later, not lost
    [(state, error)] = rig.rows(
        "SELECT delivery_state, error FROM message WHERE id = ?", delivery.message_ids[0]
    )
    assert (state, error) == ("pending", "internal error: RuntimeError")
    assert "wechat sender failed unexpectedly" in caplog.text
    assert "AT9" not in caplog.text and "o_crash" not in caplog.text


async def test_a_passive_retry_does_not_take_rows_a_live_sender_holds(rig: Rig) -> None:
    customer = rig.follower("o_race")
    service = rig.app.state.runtime.service
    xml = customer.text_xml("评价", msg_id=24_999_000_000_000_001)
    await service.handle(  # stored and held by a sender that is still at it
        Incoming(
            channel="wechat",
            customer_ref="o_race",
            text="评价",
            platform_message_id="msg:24999000000000001",
        )
    )
    assert await customer.send(xml, "评价") is None  # WeChat's retry: "success", not a 2nd copy
    assert rig.rows("SELECT delivery_state FROM message WHERE direction = 'out'") == [("sending",)]


async def test_a_slow_sender_whose_claim_was_taken_over_sends_nothing(rig: Rig) -> None:
    customer = rig.follower("o_race2")
    service = rig.app.state.runtime.service
    reply = await service.handle(
        Incoming(
            channel="wechat",
            customer_ref="o_race2",
            text="评价",
            platform_message_id="msg:24999000000000002",
        )
    )
    clock = Clock(service.clock() + service.lease + timedelta(seconds=1))
    service.clock = rig.app.state.runtime.delivery.clock = clock  # the first sender stalled
    xml = customer.text_xml("评价", msg_id=24_999_000_000_000_002)
    assert await customer.send(xml, "评价") is not None  # the retry took over, answers passively
    report = await rig.app.state.runtime.delivery.deliver(reply)  # the stalled one wakes up
    assert report.sent == () and report.failed == ()
    assert rig.api.calls == []  # WeChat never asked: the customer got it once
    assert rig.rows("SELECT delivery_state FROM message WHERE direction = 'out'") == [("sent",)]


async def test_concurrent_sends_never_exceed_the_quota(rig: Rig) -> None:
    await rig.follower("o_burst").says("评价")
    results = await asyncio.gather(
        *(rig.send_text("o_burst", f"第 {n} 条") for n in range(1, 9))
    )
    # one goes out at once, the rest queue behind it (a customer's messages keep their
    # order) and leave one by one after it: five fit in the quota, three are refused
    assert sorted(bool(r.report.deferred) for r in results) == [False] + [True] * 7
    states = rig.rows(
        "SELECT text, delivery_state, error FROM message"
        " WHERE direction = 'out' AND author = 'agent' ORDER BY id"
    )
    assert [state for _, state, _ in states] == ["sent"] * 5 + ["failed"] * 3
    # in the order they were stored
    assert [m["text"]["content"] for m in rig.api.sent] == [text for text, _, _ in states[:5]]
    assert all("quota used" in (error or "") for _, _, error in states[5:])


async def test_a_failing_token_fetch_backs_off(sessions: Sessions, clock: Clock) -> None:
    fake = FakeWeChatApi(APP_ID, SECRET)
    await fake.start()
    api = shared_api(fake, sessions, clock)
    try:
        fake.answer_tokens_with({"errcode": 40164, "errmsg": "invalid ip, not in whitelist"}, 5)
        with pytest.raises(TokenUnavailable, match="40164"):
            await tokens_of(api).access_token(wait=1.0)
        for _ in range(3):
            with pytest.raises(TokenUnavailable, match="next try in 30 s"):
                await tokens_of(api).access_token(wait=1.0)
        assert fake.token_calls() == 1  # not one fetch per send
        async with sessions() as session:
            row = await tokens.get_token(session=session, platform="wechat", app_id=APP_ID)
        assert row is not None and row.retry_after == clock.now + timedelta(seconds=30)
        fake.token_answers.clear()
        clock.advance(seconds=31)
        assert await tokens_of(api).access_token(wait=1.0) == "AT1"
        assert fake.token_calls() == 2
    finally:
        api.close()
        await fake.stop()


async def test_while_one_process_refreshes_the_others_use_the_old_token(
    sessions: Sessions, clock: Clock
) -> None:
    fake = FakeWeChatApi(APP_ID, SECRET)
    await fake.start()
    first, second = (shared_api(fake, sessions, clock) for _ in range(2))
    try:
        assert await first.access_token() == "AT1"
        clock.advance(seconds=7200 - 200)  # inside the refresh margin, still valid
        async with sessions() as session, session.begin():
            now = clock.now
            assert await tokens.claim_refresh(
                session=session,
                platform="wechat",
                app_id=APP_ID,
                owner="another process",
                now=now,
                lease_until=now + timedelta(seconds=30),
            )
        started = asyncio.get_running_loop().time()
        # no waiting for the refresher
        assert await tokens_of(second).access_token(wait=5.0) == "AT1"
        assert asyncio.get_running_loop().time() - started < 4.0
        async with sessions() as session, session.begin():
            await tokens.release_refresh(
                session=session, platform="wechat", app_id=APP_ID, owner="another process", now=now
            )
        fake.answer_tokens_with({"errcode": 40164, "errmsg": "invalid ip"})
        assert await second.access_token() == "AT1"  # the fetch failed: the old token serves
        assert fake.token_calls() == 2
    finally:
        first.close()
        second.close()
        await fake.stop()
