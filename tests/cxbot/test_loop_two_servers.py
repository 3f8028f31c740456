"""Two `cxbot serve` processes on one PostgreSQL announce every case once: the agents'
Telegram group (the app's own bot, python-telegram-bot against the fake Bot API), the WeCom
robot and a webhook receiver that fails twice before it accepts, its signatures checked.

Both processes scan and dispatch every 0.1 s, so they race for every case; a sentinel case
announced after the others shows that many rounds ran after each was announced (a second
announcement would have had every chance to happen). `until` polls: no sleep decides.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from cxbot.signatures import verify
from tests.bot.telegram_chat import SECRET, TOKEN
from tests.cxbot.crash_rig import Crashes
from tests.fakes.receivers import FakeWeComRobot, WebhookReceiver
from tests.fakes.telegram_api import FakeTelegram
from tests.serve_process import until

pytestmark = pytest.mark.backends("postgresql")

GROUP = -1009876543210
API_TOKEN = "integration-token-for-loop-tests"


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeTelegram, FakeWeComRobot, WebhookReceiver]]:
    telegram, robot, receiver = FakeTelegram(token=TOKEN), FakeWeComRobot(), WebhookReceiver()
    for server in (telegram, robot, receiver):
        await server.start()
    yield telegram, robot, receiver
    for server in (telegram, robot, receiver):
        await server.stop()


@pytest.fixture
def rig(
    tmp_path: Path, db_url: str, fakes: tuple[FakeTelegram, FakeWeComRobot, WebhookReceiver]
) -> Iterator[Crashes]:
    telegram, robot, _ = fakes
    made = Crashes(
        tmp_path,
        db_url,
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "CXBOT_NOTIFY_TELEGRAM_CHAT_ID": str(GROUP),
            "CXBOT_NOTIFY_WECOM_WEBHOOK_URL": robot.url,
            "CXBOT_NOTIFY_LANGUAGE": "en",
            "CXBOT_NOTIFY_SWEEP_SECONDS": "0.1",
            "CXBOT_WEBHOOK_RETRY_SECONDS": "0.2",
            "CXBOT_PUBLIC_URL": "https://cx.example.com",
            "CXBOT_API_TOKEN": API_TOKEN,
        },
    )
    yield made
    made.close()


def open_cases(rig: Crashes, names: list[str], *, overdue: bool = False) -> None:
    """Customers with a handed-off interview and an open case each, in one transaction."""
    due = "now() - interval '1 minute'" if overdue else "now() + interval '1 hour'"
    with rig.engine.begin() as connection:
        for name in names:
            customer = connection.execute(
                sqlalchemy.text(
                    "INSERT INTO customer (channel, external_id, created_at) "
                    "VALUES ('web', :name, now()) RETURNING id"
                ),
                {"name": name},
            ).scalar_one()
            conversation = connection.execute(
                sqlalchemy.text(
                    "INSERT INTO conversation (customer_id, channel, flow_id, flow_version, "
                    "touchpoint, journey_stage, language, status, state, started_at, "
                    "updated_at) VALUES (:c, 'web', 'nps', '1', 'relationship', 'loyalty', "
                    "'en', 'handed_off', '{}', now(), now()) RETURNING id"
                ),
                {"c": customer},
            ).scalar_one()
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO escalation (conversation_id, customer_id, reason, priority, "
                    f"status, due_at, created_at) VALUES (:v, :c, 'detractor', 'high', 'open', "
                    f"{due}, now())"
                ),
                {"v": conversation, "c": customer},
            )


async def test_two_servers_announce_each_case_once_everywhere(
    rig: Crashes, fakes: tuple[FakeTelegram, FakeWeComRobot, WebhookReceiver]
) -> None:
    telegram, robot, receiver = fakes
    a, b = await rig.serve(), await rig.serve()
    async with httpx.AsyncClient(timeout=10) as http:
        made = await http.post(
            a.url + "/api/v1/webhooks",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            json={"url": receiver.url, "events": ["escalation.opened", "escalation.overdue"]},
        )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    receiver.statuses = [503, 503]  # the first delivery fails twice, then is accepted

    open_cases(rig, [f"c{n}" for n in range(3)])
    open_cases(rig, ["late"], overdue=True)
    open_cases(rig, ["c3", "c4"])

    def accepted() -> list[str]:
        ok = [r for r in receiver.received if r.headers.get("X-Cxbot-Delivery")]
        return [r.headers["X-Cxbot-Delivery"] for r in ok][2:]  # after the two refusals

    # 6 cases opened, 1 of them overdue
    await until(lambda: len(set(accepted())) >= 7, what="7 webhook deliveries", within=30)
    await until(lambda: len(robot.messages) >= 7, what="7 WeCom notices", within=30)
    await until(lambda: len(telegram.texts(GROUP)) >= 7, what="7 Telegram notices", within=30)

    open_cases(rig, ["sentinel"])  # announced only after many more rounds of both servers
    await until(lambda: len(set(accepted())) >= 8, what="the sentinel's webhook", within=30)
    await until(lambda: len(telegram.texts(GROUP)) >= 8, what="the sentinel on Telegram")
    await until(lambda: len(robot.messages) >= 8, what="the sentinel on WeCom")

    # 7 cases opened (the sentinel too) + 1 overdue: each announced once on each channel
    assert sorted(Counter(accepted()).values()) == [1] * 8
    assert len(receiver.received) == 10  # 8 deliveries, one of them tried three times
    assert len(robot.messages) == len(set(robot.messages)) == 8
    texts = telegram.texts(GROUP)
    assert len(texts) == len(set(texts)) == 8
    assert sum("is overdue" in t for t in texts) == 1
    assert all("https://cx.example.com/admin/escalations/" in t for t in texts)
    for request in receiver.received:
        signature = request.headers["X-Cxbot-Signature"]
        assert verify(secret, request.body, signature, time.time())
    assert rig.count("SELECT count(*) FROM dispatch WHERE state <> 'sent'") == 0
    assert rig.count("SELECT count(*) FROM dispatch") == 24
    for process in (a, b):
        assert process.process.poll() is None, process.output()
