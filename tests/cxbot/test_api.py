"""The integrators' API: start an interview after an event, delivered in WeChat."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from admin import tokens
from cxbot.app import create_app
from tests.bot.wechat_chat import running, wechat_settings
from tests.conftest import START

TOKEN = "integration-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def start(openid: str, key: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "flow_id": "csat",
        "channel": "wechat",
        "customer": openid,
        "idempotency_key": key,
        "language": "zh",
    }
    body.update(changes)
    return body


async def test_an_order_delivered_event_starts_csat_in_the_customers_wechat(
    db_path: Path, db_url: str
) -> None:
    async with running(db_path, db_url, api_token=TOKEN) as rig:
        customer = rig.follower("o_buyer")
        await customer.says("你好")  # the 48-hour customer-service window is open

        response = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_buyer", "order-42-delivered")
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "started" and body["error"] is None
        assert "您对这次配送满意吗" in body["messages"][0]
        [sent] = rig.api.sent
        assert sent["touser"] == "o_buyer" and "您对这次配送满意吗" in sent["text"]["content"]

        # the integrator's retry starts nothing twice
        again = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_buyer", "order-42-delivered")
        )
        assert again.json()["status"] == "already-started"
        assert len(rig.api.sent) == 1

        # the customer answers in WeChat as usual
        reply = await customer.says("5")
        assert "有什么想对我们说的吗" in reply
        [(author, text)] = rig.rows(
            "SELECT author, text FROM message WHERE direction = 'in' AND "
            "platform_message_id = 'api:order-42-delivered'"
        )
        assert author == "system" and "API" in text
        assert rig.rows("SELECT metric, score FROM answer") == [("csat", 5)]


async def test_an_api_start_never_interrupts_an_interview_under_way(
    db_path: Path, db_url: str
) -> None:
    async with running(db_path, db_url, api_token=TOKEN) as rig:
        await rig.follower("o_busy").says("评价")  # in the NPS interview
        response = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_busy", "ticket-7-closed")
        )
        assert response.status_code == 409 and response.json()["status"] == "busy"
        assert rig.api.sent == []
        assert rig.rows("SELECT flow_id, status FROM conversation") == [("nps", "active")]


async def test_outside_the_48_hour_window_the_start_is_recorded_as_not_delivered(
    db_path: Path, db_url: str
) -> None:
    async with running(db_path, db_url, api_token=TOKEN) as rig:
        response = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_stranger", "order-9-delivered")
        )
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "not-delivered" and "never wrote" in body["error"]
        assert rig.api.sent == []
        # no interview is left waiting for an answer to a question they never saw
        assert rig.rows("SELECT status FROM conversation") == [("abandoned",)]
        again = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_stranger", "order-10-delivered")
        )
        assert again.status_code == 202 and again.json()["status"] == "not-delivered"


@pytest.mark.parametrize(
    ("headers", "body_changes", "status"),
    [
        ({}, {}, 401),
        ({"Authorization": "Bearer wrong"}, {}, 401),
        (AUTH, {"flow_id": "nope"}, 404),
        (AUTH, {"channel": "telegram"}, 422),
        (AUTH, {"idempotency_key": "has spaces"}, 422),
    ],
)
async def test_bad_calls_are_refused(
    db_path: Path,
    db_url: str,
    headers: dict[str, str],
    body_changes: dict[str, object],
    status: int,
) -> None:
    async with running(db_path, db_url, api_token=TOKEN) as rig:
        response = await rig.client.post(
            "/api/v1/interviews", headers=headers, json=start("o_x", "k-1", **body_changes)
        )
        assert response.status_code == status, response.text
        assert rig.rows("SELECT count(*) FROM message") == [(0,)]


async def test_without_a_token_setting_stored_tokens_open_the_api_by_role(db_url: str) -> None:
    app = create_app(wechat_settings(db_url, None))
    async with app.router.lifespan_context(app):
        made = {
            role: await tokens.create(
                app.state.admin_auth.writer, name=role, role=role, now=START, created_by=None
            )
            for role in ("viewer", "agent")
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            old = await client.post("/api/v1/interviews", headers=AUTH, json=start("o", "k"))
            viewer = await client.post(
                "/api/v1/interviews",
                headers={"Authorization": f"Bearer {made['viewer'].secret}"},
                json=start("o", "k"),
            )
            agent = await client.post(
                "/api/v1/interviews",
                headers={"Authorization": f"Bearer {made['agent'].secret}"},
                json=start("o", "k", flow_id="nope"),
            )
    assert old.status_code == 401 and old.headers["www-authenticate"] == "Bearer"
    assert viewer.status_code == 403
    assert agent.status_code == 404  # past the guard: the flow is what is missing


async def test_a_ticket_closed_event_starts_ces_in_telegram_with_buttons(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.bot.telegram_chat import TOKEN as TELEGRAM_TOKEN
    from tests.bot.telegram_chat import running_app, telegram_settings
    from tests.fakes.telegram_api import FakeTelegram

    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    fake = FakeTelegram(TELEGRAM_TOKEN)
    await fake.start()
    try:
        settings = telegram_settings(db_url, fake, api_token=TOKEN)
        async with running_app(settings) as (_, client):
            body = start("555", "ticket-77-closed", channel="telegram", flow_id="ces")
            response = await client.post("/api/v1/interviews", headers=AUTH, json=body)
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "started"
            [sent] = fake.sent(555)
            assert "让问题处理起来很轻松" in sent.params["text"]
            keyboard = sent.params["reply_markup"]["inline_keyboard"]
            assert [button["text"] for row in keyboard for button in row] == [
                str(n) for n in range(1, 8)
            ]

            bad = await client.post(
                "/api/v1/interviews",
                headers=AUTH,
                json=start("not-a-chat", "ticket-78-closed", channel="telegram", flow_id="ces"),
            )
            assert bad.status_code == 422  # refused before anything is stored
            assert "not a Telegram chat id" in bad.json()["detail"]
    finally:
        await fake.stop()


async def test_a_flow_that_forbids_api_starts_is_refused_and_nothing_is_stored(
    db_path: Path, db_url: str, tmp_path: Path
) -> None:
    from flows.registry import BUILTIN_DIR

    flows = tmp_path / "own-flows"
    flows.mkdir()
    source = (BUILTIN_DIR / "csat.yaml").read_text(encoding="utf-8")
    assert "start:\n  keywords: [满意度, csat]\n" in source
    (flows / "csat_manual.yaml").write_text(
        source.replace("id: csat", "id: csat_manual")
        .replace("[满意度, csat]", "[配送评价]")
        .replace("[/csat]", "[/csat_manual]")
        .replace("start:\n", "start:\n  api: false\n"),
        encoding="utf-8",
    )
    async with running(db_path, db_url, api_token=TOKEN, flows_dir=flows) as rig:
        await rig.follower("o_window").says("你好")  # the window is open: it could be sent
        before = rig.rows("SELECT count(*) FROM message")
        allowed = rig.app.state.runtime.registry.current("csat_manual")
        assert allowed is not None and allowed.flow.start.api is False
        response = await rig.client.post(
            "/api/v1/interviews",
            headers=AUTH,
            json=start("o_window", "order-5-delivered", flow_id="csat_manual"),
        )
        assert response.status_code == 403, response.text
        assert "does not allow API starts" in response.json()["detail"]
        assert rig.api.sent == []
        assert rig.rows("SELECT count(*) FROM message") == before
        assert rig.rows("SELECT count(*) FROM conversation") == [(0,)]
        # the same flow without `api: false` would have started (the control)
        ok = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_window", "order-6-delivered")
        )
        assert ok.status_code == 202 and ok.json()["status"] == "started"


async def test_a_busy_or_failed_start_does_not_use_up_the_key(db_path: Path, db_url: str) -> None:
    async with running(db_path, db_url, api_token=TOKEN) as rig:
        customer = rig.follower("o_later")
        await customer.says("评价")  # busy in the NPS interview
        busy = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_later", "order-77-delivered")
        )
        assert busy.status_code == 409 and busy.json()["status"] == "busy"
        await customer.says("退出")  # leaves the interview
        await customer.says("停止")
        rig.api.fail_next(45015)  # WeChat refuses this time
        refused = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_later", "order-77-delivered")
        )
        assert refused.json()["status"] == "not-delivered", refused.text
        # the same key later: it was never used up, so it starts now
        ok = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_later", "order-77-delivered")
        )
        assert ok.status_code == 202 and ok.json()["status"] == "started", ok.text
        assert len(rig.api.sent) == 1
        again = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_later", "order-77-delivered")
        )
        assert again.json()["status"] == "already-started"
        assert len(rig.api.sent) == 1


async def test_the_same_key_with_another_body_is_refused(db_path: Path, db_url: str) -> None:
    async with running(db_path, db_url, api_token=TOKEN) as rig:
        await rig.follower("o_key").says("你好")
        first = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_key", "order-5-delivered")
        )
        assert first.json()["status"] == "started"
        other = await rig.client.post(
            "/api/v1/interviews",
            headers=AUTH,
            json=start("o_key", "order-5-delivered", flow_id="nps"),
        )
        assert other.status_code == 422
        assert "used before for another request" in other.json()["detail"]
        assert len(rig.api.sent) == 1
        assert rig.rows("SELECT flow_id FROM conversation") == [("csat",)]


async def test_a_customer_who_just_answered_is_not_surveyed_again(
    db_path: Path, db_url: str
) -> None:
    async with running(db_path, db_url, api_token=TOKEN) as rig:
        customer = rig.follower("o_done")
        await customer.says("你好")
        first = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_done", "order-1-delivered")
        )
        assert first.json()["status"] == "started"
        await customer.says("5")
        await customer.says("都很好")  # csat completed
        assert rig.rows("SELECT status FROM conversation") == [("completed",)]
        again = await rig.client.post(
            "/api/v1/interviews", headers=AUTH, json=start("o_done", "order-2-delivered")
        )
        assert again.status_code == 409 and again.json()["status"] == "quiet-period"
        assert len(rig.api.sent) == 1
        assert rig.rows("SELECT count(*) FROM conversation") == [(1,)]
