"""No personal data in the logs at INFO: every channel, the API, the CLI, an internal error,
a failed send, and uvicorn's access log of a real `cxbot serve`.

Each test runs real interviews with distinctive customer text, names, platform ids,
deep-link payloads and callback data, captures everything logged at INFO and above (every
logger, tracebacks included), and asserts none of those values is in it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.webchat import COOKIE
from cxbot.cli import main
from storage.database import create_engine
from tests.bot.telegram_chat import (
    SECRET,
    WEBHOOK,
    TelegramCustomer,
    Updates,
    running_app,
    telegram_settings,
)
from tests.bot.telegram_chat import TOKEN as TELEGRAM_TOKEN
from tests.bot.wechat_chat import AES_KEY, APP_ID, running
from tests.bot.wechat_chat import SECRET as WECHAT_SECRET
from tests.bot.wechat_chat import TOKEN as WECHAT_TOKEN
from tests.conftest import free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wechat_server import Follower, WeChatServer

ROOT = Path(__file__).resolve().parents[1]
API_TOKEN = "integration-token-for-private-logs"

CHAT_ID = 987_650_001_234
PERSONAL = {
    "telegram chat id": str(CHAT_ID),
    "telegram first name": "Zephyrine",
    "telegram last name": "Quillfeather",
    "telegram username": "zq_private_user",
    "telegram text": "my neighbour Ottoline broke it",
    "deep-link payload": "promo-XK42-private",
    "callback data": "stale-callback-ZZ9",
    "wechat openid": "oPrivacyOpenid_0042",
    "wechat text": "快递员把包裹扔在门口了私密",
    "api openid": "oApiCustomer_0777",
    "api idempotency key": "order-PRIVATE-5150",
    "web text": "the courier Barnabas was rude",
    "web client id": "clientid-private-77",
    "web query": "Barnabas-Query",
    "cli text": "the cashier Hortensia shouted",
    "sql parameter": "Fenwick refund please",
}


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged at INFO and above, formatted with tracebacks; the fake platform
    and the test's own requests left out (they are not cxbot's)."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(
        formatter.format(record)
        for record in caplog.records
        if record.levelno >= logging.INFO and not _the_tests_own(record)
    )


def _the_tests_own(record: logging.LogRecord) -> bool:
    """The fake platform servers' access logs, and the test client's requests (which carry
    what WeChat puts in the webhook's query: cxbot's own log is the access log, below)."""
    return record.name.startswith("aiohttp") or (
        record.name == "httpx" and "http://testserver/" in record.getMessage()
    )


def leaks(logged: str, values: dict[str, str] = PERSONAL) -> list[str]:
    """The names of the personal values found in `logged`."""
    return [name for name, value in values.items() if value in logged]


def assert_private(logged: str, values: dict[str, str] = PERSONAL) -> None:
    """Fail, showing the log, when any personal value is in it."""
    found = leaks(logged, values)
    assert not found, f"personal data in the logs: {', '.join(found)}\n{logged}"


@pytest.fixture(autouse=True)
def _info(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def test_the_check_sees_a_leak(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("bot.telegram_updates").info(
        "telegram callback ignored (data %r)", PERSONAL["callback data"]
    )
    with pytest.raises(AssertionError, match="callback data"):
        assert_private(logged(caplog))
    assert leaks("chat 987650001234 said hi") == ["telegram chat id"]


async def test_a_telegram_interview(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTelegram(TELEGRAM_TOKEN)
    await fake.start()
    try:
        async with running_app(telegram_settings(db_url, fake)) as (_app, client):
            alice = TelegramCustomer(client, fake, Updates(), CHAT_ID, "Zephyrine")
            alice.user |= {"last_name": "Quillfeather", "username": "zq_private_user"}
            await alice.says(f"/start {PERSONAL['deep-link payload']}")  # an unknown flow
            await alice.taps("9")
            await alice.says(PERSONAL["telegram text"])
            odd = alice.message("x")
            odd["callback_query"] = {
                "id": "cbq-odd",
                "from": alice.user,
                "chat_instance": "ci",
                "data": PERSONAL["callback data"],
                "message": odd.pop("message"),
            }
            await alice.post(odd)  # callback data that is no answer: ignored
            # the customer blocked the bot: the next reply fails
            fake.fail_next(
                "sendMessage", status=403, description="Forbidden: bot was blocked by the user"
            )
            await alice.says("/start nps")
            # a malformed update that carries the customer's words
            bad = alice.message(PERSONAL["telegram text"])
            bad["message"]["date"] = PERSONAL["telegram text"]
            response = await client.post(
                WEBHOOK, json=bad, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert response.status_code == 400
    finally:
        await fake.stop()
    assert "not delivered" in caplog.text  # the failed send was logged
    assert_private(logged(caplog))


async def test_a_wechat_interview_a_failed_send_and_an_api_start(
    db_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(db_path, db_url, api_token=API_TOKEN) as rig:
        customer = rig.follower(PERSONAL["wechat openid"])
        assert await customer.says("评价") is not None
        await customer.says("3")
        await customer.says(PERSONAL["wechat text"])
        rig.api.fail_next(45015)
        sent = await rig.send_text(PERSONAL["wechat openid"], "an agent's reply")
        assert not sent.sent
        response = await rig.client.post(
            "/api/v1/interviews",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            json={
                "flow_id": "csat",
                "channel": "wechat",
                "customer": PERSONAL["api openid"],
                "idempotency_key": PERSONAL["api idempotency key"],
            },
        )
        assert response.status_code == 202, response.text  # not delivered: no 48-hour window
    assert "not delivered" in caplog.text or "refused" in caplog.text
    assert_private(logged(caplog))


async def test_a_web_chat_interview_and_an_internal_error(
    db_path: Path, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    page = await client.get("/chat/nps", params={"lang": "en", "ref": PERSONAL["web query"]})
    assert page.status_code == 200
    visitor = client.cookies[COOKIE]

    async def post(flow: str = "nps", **body: object) -> httpx.Response:
        response = await client.post(f"/chat/{flow}/messages", json=body)
        assert response.status_code == 200, response.text
        return response

    await post(client_id="start-0001", start=True)
    await post(client_id=PERSONAL["web client id"], button="ask_score:9")
    await post(client_id="answer-0002", text=PERSONAL["web text"])
    # the database refuses the next answer: an internal error, an apology (on another flow:
    # the same browser answers nps once per quiet period)
    await post("ces", client_id="start-0003", start=True)
    await post("ces", client_id="answer-0004", button="ask_effort:5")  # then an open question
    with sqlite3.connect(db_path) as db:
        db.execute(
            "CREATE TRIGGER refuse_answers BEFORE INSERT ON answer "
            "BEGIN SELECT RAISE(ABORT, 'answers are frozen'); END"
        )
    await post("ces", client_id="answer-0005", text=PERSONAL["sql parameter"])
    assert "answers are frozen" in caplog.text  # the error was logged, traceback and all
    assert_private(logged(caplog), PERSONAL | {"web visitor": visitor})


async def test_the_engine_neither_echoes_sql_nor_shows_its_parameters(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert not engine.sync_engine.echo  # None: SQL is logged only if someone asks
        assert engine.sync_engine.hide_parameters is True
    finally:
        await engine.dispose()


def test_the_terminal_chat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CXBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"3\n{PERSONAL['cli text']}\n"))
    assert main(["chat", "nps", "--lang", "en"]) == 0
    assert_private(logged(caplog))


def test_the_access_log_of_cxbot_serve(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CXBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "WECHAT_TOKEN": WECHAT_TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": WECHAT_SECRET,
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WECHAT_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "cxbot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", server)
        asyncio.run(_talk(f"http://127.0.0.1:{port}"))
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    access = [line for line in output.splitlines() if ' HTTP/1.1" ' in line]
    assert any('"POST /webhooks/wechat HTTP/1.1" 200' in line for line in access), output
    assert any('"GET /chat/nps HTTP/1.1" 200' in line for line in access), output
    assert not [line for line in access if "127.0.0.1" in line]  # no client addresses
    assert_private(output)


def _wait_until_up(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[0]
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("cxbot serve did not come up")


async def _talk(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        wechat = WeChatServer(client, WECHAT_TOKEN, APP_ID, AES_KEY)
        customer = Follower(wechat, PERSONAL["wechat openid"])
        assert await customer.says(PERSONAL["wechat text"]) is not None
        page = await client.get("/chat/nps", params={"ref": PERSONAL["web query"]})
        assert page.status_code == 200
