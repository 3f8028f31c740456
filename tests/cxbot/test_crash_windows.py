"""Nothing acknowledged is ever lost: a real `cxbot serve` killed (SIGKILL) in each crash window.

Each test lets a process store a customer's message and claim its reply, stops it at a chosen
point with a platform fake holding a call in flight (or a 429 wait in the pacer), kills it,
and starts another process on the same database. The customer must then get each message
exactly once: by the new process's sweeper once the dead sender's 2-second lease has run out,
or by the platform's redelivery of the update. The one documented exception is a crash after
the platform accepted a message and before the row was marked sent: that message goes out
twice, never more (platforms have no idempotent send).

Runs on SQLite and PostgreSQL. Each test takes a few seconds (two process starts, one lease).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bot.telegram_chat import SECRET, TOKEN, WEBHOOK, TelegramCustomer, Updates
from tests.bot.wechat_chat import AES_KEY, APP_ID
from tests.bot.wechat_chat import SECRET as WECHAT_SECRET
from tests.bot.wechat_chat import TOKEN as WECHAT_TOKEN
from tests.cxbot.crash_rig import NEVER, Crashes, Row, record
from tests.fakes.telegram_api import Call, FakeTelegram
from tests.fakes.wechat_api import FakeWeChatApi
from tests.fakes.wechat_server import Follower, WeChatServer
from tests.serve_process import ServeProcess, until

pytestmark = pytest.mark.backends("sqlite", "postgresql")

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
API_TOKEN = "integration-token-for-crash-tests"


@pytest.fixture
def crashes(tmp_path: Path, db_url: str, telegram: FakeTelegram) -> Iterator[Crashes]:
    """`cxbot serve` processes with the Telegram channel (webhook mode) and the API."""
    rig = Crashes(
        tmp_path,
        db_url,
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "CXBOT_API_TOKEN": API_TOKEN,
        },
    )
    yield rig
    rig.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A client for Telegram's and the integrators' posts to the served processes."""
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def post(
    http: httpx.AsyncClient, process: ServeProcess, update: dict[str, Any]
) -> httpx.Response | None:
    """Deliver an update to a process's webhook as Telegram does; None when the process died
    before answering."""
    with contextlib.suppress(httpx.TransportError):
        return await http.post(process.url + WEBHOOK, json=update, headers=HEADERS)
    return None


def in_flight(
    http: httpx.AsyncClient, process: ServeProcess, update: dict[str, Any]
) -> asyncio.Task[httpx.Response | None]:
    """Post an update without waiting for the answer (the process will die first)."""
    return asyncio.create_task(post(http, process, update))


def customer(
    http: httpx.AsyncClient, telegram: FakeTelegram, chat_id: int, updates: Updates | None = None
) -> TelegramCustomer:
    """A Telegram customer (for the updates it writes; update ids unique within `updates`)."""
    return TelegramCustomer(http, telegram, updates or Updates(), chat_id)


def delivered(telegram: FakeTelegram, chat_id: int, count: int) -> list[Call]:
    """The chat's delivered messages once there are `count` of them."""
    sent = telegram.sent(chat_id)
    return sent if len(sent) >= count else []


def assert_sent_once_each(rows: list[Row], telegram: FakeTelegram) -> None:
    """Every outbound row is sent, and each chat got exactly its rows, in order, once each,
    the row naming the platform message that delivered it."""
    assert rows, "nothing was stored"
    assert [r.state for r in rows] == ["sent"] * len(rows), rows
    for chat in {r.customer for r in rows}:
        mine = [r for r in rows if r.customer == chat]
        calls = telegram.sent(int(chat))
        assert [c.params["text"] for c in calls] == [r.text for r in mine]
        assert [r.platform_id for r in mine] == [f"{chat}:{c.result_id}" for c in calls]


# -- Telegram: the reply's send is in flight when the process dies ---------------------------


async def test_a_reply_lost_in_flight_is_sent_once_by_the_next_process_sweeper(
    crashes: Crashes, telegram: FakeTelegram, http: httpx.AsyncClient
) -> None:
    first = await crashes.serve()
    alice = customer(http, telegram, 7101)
    hold = telegram.hold_next("sendMessage", accept=False, chat_id=alice.chat_id)
    posting = in_flight(http, first, alice.message("/start"))
    await hold.caught()
    first.kill()
    await posting  # Telegram may have heard 200 already: the update was stored first
    assert [r.state for r in crashes.outbound()] == ["sending"]

    second = await crashes.serve()
    [call] = await until(
        lambda: delivered(telegram, alice.chat_id, 1), what="the sweeper sends the reply"
    )
    record("telegram, send lost in flight -> sweeper", first, second, call.at)
    rows = await until(crashes.settled, what="the row is marked sent")
    assert_sent_once_each(rows, telegram)
    assert rows[0].attempts == 2  # claimed by the dead process, then by the sweeper


async def test_a_reply_lost_in_flight_is_sent_once_on_telegrams_redelivery(
    crashes: Crashes, telegram: FakeTelegram, http: httpx.AsyncClient
) -> None:
    first = await crashes.serve()
    alice = customer(http, telegram, 7102)
    update = alice.message("/start")
    hold = telegram.hold_next("sendMessage", accept=False, chat_id=alice.chat_id)
    posting = in_flight(http, first, update)
    await hold.caught()
    first.kill()
    await posting

    second = await crashes.serve(CXBOT_DELIVERY_SWEEP_SECONDS=str(NEVER))  # no sweeper here
    await until(crashes.lease_ran_out, what="the dead sender's lease runs out")
    answer = await post(http, second, update)  # the 200 got lost: Telegram delivers it again
    assert answer is not None and answer.status_code == 200
    [call] = await until(
        lambda: delivered(telegram, alice.chat_id, 1), what="the redelivery sends the reply"
    )
    record("telegram, send lost in flight -> redelivered update", first, second, call.at)
    assert_sent_once_each(crashes.outbound(), telegram)

    answer = await post(http, second, update)  # a later redelivery is answered, not sent
    assert answer is not None and answer.status_code == 200
    assert len(telegram.sent(alice.chat_id)) == 1
    assert crashes.count("SELECT count(*) FROM conversation") == 1


async def test_a_reply_telegram_took_just_before_the_crash_goes_out_twice_never_more(
    crashes: Crashes, telegram: FakeTelegram, http: httpx.AsyncClient
) -> None:
    """The documented window: Telegram accepted the message, the process died before the row
    was marked sent. Nothing tells the new process it went out, so it sends it again."""
    first = await crashes.serve()
    alice = customer(http, telegram, 7103)
    hold = telegram.hold_next("sendMessage", accept=True, chat_id=alice.chat_id)
    posting = in_flight(http, first, alice.message("/start"))
    await hold.caught()
    first.kill()
    await posting

    second = await crashes.serve()
    [taken, again] = await until(
        lambda: delivered(telegram, alice.chat_id, 2), what="the sweeper sends it again"
    )
    record("telegram, accepted before the crash -> sweeper (twice)", first, second, again.at)
    [row] = await until(crashes.settled, what="the row is marked sent")
    assert taken.params["text"] == again.params["text"] == row.text
    assert row.platform_id == f"{alice.chat_id}:{again.result_id}"
    second.stop()
    assert len(telegram.sent(alice.chat_id)) == 2


# -- Telegram: stored, nothing sent yet --------------------------------------------------------


async def test_a_reply_waiting_in_the_pacer_is_sent_once_by_the_next_process(
    crashes: Crashes, telegram: FakeTelegram, http: httpx.AsyncClient
) -> None:
    first = await crashes.serve()
    alice = customer(http, telegram, 7104)
    telegram.fail_next("sendMessage", status=429, retry_after=30, chat_id=alice.chat_id)
    posting = in_flight(http, first, alice.message("/start"))
    await until(
        lambda: telegram.called("sendMessage", ok=False), what="Telegram asks the bot to wait"
    )
    first.kill()  # while the pacer waits out the 30 s
    await posting
    assert telegram.sent(alice.chat_id) == []

    second = await crashes.serve()
    [call] = await until(
        lambda: delivered(telegram, alice.chat_id, 1), what="the sweeper sends the reply"
    )
    record("telegram, waiting in the pacer -> sweeper", first, second, call.at)
    assert_sent_once_each(await until(crashes.settled, what="the row is sent"), telegram)


async def test_the_rest_of_a_reply_is_sent_once_and_in_order_by_the_next_process(
    crashes: Crashes, telegram: FakeTelegram, http: httpx.AsyncClient
) -> None:
    first = await crashes.serve()
    alice = customer(http, telegram, 7105)
    hold = telegram.hold_next("sendMessage", accept=False, chat_id=alice.chat_id, skip=1)
    posting = in_flight(http, first, alice.message("/start welcome"))
    await hold.caught()  # the greeting went out; the question is in flight
    first.kill()
    await posting
    assert [r.state for r in crashes.outbound()] == ["sent", "sending"]

    second = await crashes.serve()
    [_, call] = await until(
        lambda: delivered(telegram, alice.chat_id, 2), what="the sweeper sends the question"
    )
    record("telegram, second message of a reply -> sweeper", first, second, call.at)
    rows = await until(crashes.settled, what="both rows are sent")
    assert [r.text for r in rows] == ["Hello! Two quick questions.", call.params["text"]]
    assert_sent_once_each(rows, telegram)


# -- the integrators' API ----------------------------------------------------------------------


@pytest.mark.parametrize("by", ["sweeper", "retry"])
async def test_an_api_start_killed_mid_send_is_delivered_once_and_never_started_twice(
    crashes: Crashes, telegram: FakeTelegram, http: httpx.AsyncClient, by: str
) -> None:
    """The integrator never hears back and retries with the same idempotency key: before the
    sweeper sent the question (after the lease ran out: the retry takes it over) or after."""
    body = {
        "flow_id": "ces",
        "channel": "telegram",
        "customer": "7106",
        "idempotency_key": "ticket-7106-closed",
        "language": "en",
    }
    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    async def start(process: ServeProcess) -> httpx.Response | None:
        with contextlib.suppress(httpx.TransportError):
            return await http.post(process.url + "/api/v1/interviews", json=body, headers=auth)
        return None

    first = await crashes.serve()
    hold = telegram.hold_next("sendMessage", accept=False, chat_id=7106)
    starting = asyncio.create_task(start(first))
    await hold.caught()
    first.kill()
    assert await starting is None  # the integrator never heard back

    if by == "sweeper":
        second = await crashes.serve()
        [call] = await until(lambda: delivered(telegram, 7106, 1), what="the sweeper sends it")
    else:
        second = await crashes.serve(CXBOT_DELIVERY_SWEEP_SECONDS=str(NEVER))
        await until(crashes.lease_ran_out, what="the dead sender's lease runs out")
        retried = await start(second)
        assert retried is not None and retried.status_code == 202, retried
        assert retried.json()["status"] == "started", retried.json()
        [call] = telegram.sent(7106)
    record(f"api start, send lost in flight -> {by}", first, second, call.at)
    assert_sent_once_each(await until(crashes.settled, what="the row is sent"), telegram)

    again = await start(second)
    assert again is not None and again.json()["status"] == "already-started", again.json()
    assert len(telegram.sent(7106)) == 1
    assert crashes.count("SELECT count(*) FROM conversation WHERE status = 'active'") == 1
    assert crashes.count("SELECT count(*) FROM conversation") == 1


# -- many chats at once: the database afterwards -----------------------------------------------


async def test_after_a_crash_no_message_stays_sending_and_none_is_sent_twice(
    crashes: Crashes, telegram: FakeTelegram, http: httpx.AsyncClient
) -> None:
    chats = [7201, 7202, 7203, 7204, 7205, 7206]
    first = await crashes.serve()
    updates = Updates()
    people = [customer(http, telegram, chat, updates) for chat in chats]
    holds = [
        telegram.hold_next("sendMessage", accept=False, chat_id=7202, skip=1),  # the question
        telegram.hold_next("sendMessage", accept=False, chat_id=7205),  # the greeting
    ]
    telegram.fail_next("sendMessage", status=429, retry_after=30, chat_id=7203)
    posting = [in_flight(http, first, person.message("/start welcome")) for person in people]
    for hold in holds:
        await hold.caught()
    await until(lambda: telegram.called("sendMessage", ok=False), what="chat 7203 waits")

    def others_recorded() -> bool:
        sent = [r.customer for r in crashes.outbound() if r.state == "sent"]
        return sorted(sent) == ["7201", "7201", "7202", "7204", "7204", "7206", "7206"]

    # recorded as sent, not only seen by Telegram: a kill before that is the documented window
    await until(others_recorded, what="the other chats get their reply")
    first.kill()
    await asyncio.gather(*posting)
    stuck = crashes.count(
        "SELECT count(*) FROM message WHERE direction = 'out' AND delivery_state = 'sending'"
    )
    assert stuck == 5  # 7202: the question; 7203 (in the pacer) and 7205: both messages

    second = await crashes.serve()
    rows = await until(crashes.settled, what="no row is left pending or sending")
    last = max(c.at for c in telegram.sent())
    record("six chats, three held at the kill -> sweeper", first, second, last)
    assert len(rows) == 2 * len(chats)
    assert_sent_once_each(rows, telegram)
    ids = [r.platform_id for r in rows]
    assert len(set(ids)) == len(ids)


# -- WeChat: the reply was to follow by customer-service message -------------------------------

LOSE_PASSIVE = {
    "sqlite": [
        "CREATE TRIGGER lose_passive BEFORE UPDATE OF delivery_state ON message "
        "WHEN NEW.delivery_state = 'sent' AND instr(NEW.payload, 'passive') > 0 "
        "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION lose_passive() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.delivery_state = 'sent' AND position('passive' in NEW.payload::text) > 0 "
        "THEN RAISE EXCEPTION 'could not write block'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER lose_passive BEFORE UPDATE ON message "
        "FOR EACH ROW EXECUTE FUNCTION lose_passive()",
    ],
}
"""A database that fails to record a passive reply as sent (and only that)."""
FORGET_FAILURE = {
    "sqlite": ["DROP TRIGGER lose_passive"],
    "postgresql": ["DROP TRIGGER lose_passive ON message", "DROP FUNCTION lose_passive()"],
}


@pytest.fixture
async def wechat_api() -> AsyncIterator[FakeWeChatApi]:
    """WeChat's API (access tokens, customer-service sends)."""
    api = FakeWeChatApi(APP_ID, WECHAT_SECRET)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def wechat_crashes(tmp_path: Path, db_url: str, wechat_api: FakeWeChatApi) -> Iterator[Crashes]:
    """`cxbot serve` processes with the WeChat channel (safe mode)."""
    rig = Crashes(
        tmp_path,
        db_url,
        {
            "WECHAT_TOKEN": WECHAT_TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": WECHAT_SECRET,
            "WECHAT_ENCODING_AES_KEY": AES_KEY,
            "WECHAT_API_BASE_URL": wechat_api.base_url,
        },
    )
    yield rig
    rig.close()


@contextlib.asynccontextmanager
async def follower(process: ServeProcess) -> AsyncIterator[Follower]:
    """A WeChat follower whose messages WeChat posts to `process`."""
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        server = WeChatServer(client, WECHAT_TOKEN, APP_ID, AES_KEY, "safe")
        yield Follower(server, "o_crash_follower")


async def test_a_wechat_reply_after_success_is_sent_once_by_customer_service(
    wechat_crashes: Crashes, wechat_api: FakeWeChatApi, backend: str
) -> None:
    """WeChat heard "success" (the passive reply could not be recorded), so it will not ask
    again; the process dies while the customer-service send is in flight."""
    crashes, api = wechat_crashes, wechat_api
    crashes.execute(*LOSE_PASSIVE[backend])
    first = await crashes.serve()
    hold = api.hold_next_send(accept=False)
    async with follower(first) as customer:
        assert await customer.says("feedback") is None  # "success": the reply follows
    await hold.caught()  # by customer-service message, now in flight
    first.kill()
    crashes.execute(*FORGET_FAILURE[backend])
    [row] = crashes.outbound()
    assert (row.state, row.via) == ("sending", "customer_service")

    second = await crashes.serve()
    [sent] = await until(lambda: api.sent, what="the sweeper sends it by customer service")
    record("wechat, after success, send lost -> sweeper", first, second, api.calls[-1].at)
    [row] = await until(crashes.settled, what="the row is marked sent")
    assert (row.state, row.via) == ("sent", "customer_service")
    assert sent["touser"] == "o_crash_follower"
    assert sent["text"]["content"].startswith(row.text)  # and the scale's hint
    second.stop()
    assert len(api.sent) == 1


async def test_a_wechat_reply_stored_after_the_budget_is_sent_once_despite_wechats_retry(
    wechat_crashes: Crashes, wechat_api: FakeWeChatApi
) -> None:
    """The budget ran out before the message was stored (WeChat got a 503 and will retry);
    the message was stored just after and its late customer-service send was in flight when
    the process died. The next process's sweeper sends it; WeChat's retry then gets "success"
    and nothing more."""
    crashes, api = wechat_crashes, wechat_api
    first = await crashes.serve(CXBOT_WECHAT_REPLY_BUDGET_SECONDS="0.001")
    hold = api.hold_next_send(accept=False)
    async with follower(first) as customer:
        message = customer.text_xml("feedback")
        answer = await customer.server.post(message)
    assert answer.status_code == 503  # not stored in time: WeChat will post it again
    await hold.caught()  # stored after all, and sent late by customer service: in flight
    first.kill()

    second = await crashes.serve()
    [sent] = await until(lambda: api.sent, what="the sweeper sends it by customer service")
    record("wechat, budget ran out, late send lost -> sweeper", first, second, api.calls[-1].at)
    [row] = await until(crashes.settled, what="the row is marked sent")
    assert (row.state, row.via) == ("sent", "customer_service")
    assert sent["text"]["content"].startswith(row.text)

    async with follower(second) as customer:
        assert await customer.send(message, "feedback") is None  # "success": answered already
    second.stop()
    assert len(api.sent) == 1
    assert crashes.count("SELECT count(*) FROM conversation") == 1
