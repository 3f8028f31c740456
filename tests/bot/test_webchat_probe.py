"""The shipped NPS over the web chat, in process: a vague reason after a low score gets exactly
one follow-up — the flow's static text offline, the model's question with the fake
OpenAI-compatible endpoint configured — and the interview then moves on whatever the second
answer says; a concrete reason gets none. Chinese and English."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from cxbot.app import create_app
from cxbot.settings import Settings
from tests.bot.test_webchat import bot_texts, open_page, post, query
from tests.fakes.openai_api import FakeOpenAI, customer_data

ASK_WHY = {
    "zh": "很抱歉让您失望了。最让您不满意的是什么？",
    "en": "Sorry we let you down. What went wrong?",
}
FOLLOW_UP = {
    "zh": "能具体说说是哪方面吗？比如物流、商品、价格还是客服，我们好尽快改进。",
    "en": "Could you say a little more? "
    "Was it the delivery, the product, the price or our service?",
}
HANDED_OFF = {
    "zh": "谢谢您告诉我们。客服同事会尽快在这里联系您，把问题解决好。",
    "en": "Thank you for telling us. A member of our team will follow up here shortly to put it "
    "right.",
}


async def low_score(client: httpx.AsyncClient, language: str, score: int = 3) -> None:
    await open_page(client, lang=language)
    await post(client, {"start": True, "lang": language})
    asked = await post(client, {"button": f"ask_score:{score}", "lang": language})
    assert bot_texts(asked) == [ASK_WHY[language]]


@pytest.mark.parametrize(
    ("language", "vague", "second"),
    [
        ("zh", "不好", "还是不好"),  # vague twice: one follow-up only, then a person
        ("zh", "一般般", "快递太慢了，等了一周"),
        ("en", "bad", "meh"),
        ("en", "meh", "The parcel arrived broken"),
    ],
)
async def test_a_vague_reason_gets_one_static_follow_up_offline(
    client: httpx.AsyncClient, db_path: Path, language: str, vague: str, second: str
) -> None:
    await low_score(client, language)
    probed = await post(client, {"text": vague, "lang": language})
    assert bot_texts(probed) == [FOLLOW_UP[language]]
    assert probed["events"] == ["answer-recorded", "probe-requested"]
    assert probed["messages"][0]["buttons"] == []
    state = (await client.get("/chat/nps/messages")).json()
    assert (state["open"], state["flow_status"]) == (True, "active")

    ended = await post(client, {"text": second, "lang": language})
    assert bot_texts(ended)[0] == HANDED_OFF[language]
    assert "probe-requested" not in ended["events"]
    assert "interview-handed-off" in ended["events"]
    assert query(db_path, "SELECT variable, text FROM answer ORDER BY id") == [
        ("score", None),
        ("reason", vague),
        ("reason", second),
    ]
    assert query(db_path, "SELECT status FROM conversation") == [("handed_off",)]
    assert query(db_path, "SELECT reason FROM escalation") == [("detractor",)]
    outbound = [t for (t,) in query(db_path, "SELECT text FROM message WHERE direction = 'out'")]
    assert outbound.count(FOLLOW_UP[language]) == 1


@pytest.mark.parametrize(
    ("language", "reason"),
    [("zh", "客服态度很差，问了三次都没人回"), ("en", "The parcel came two weeks late")],
)
async def test_a_concrete_reason_gets_no_follow_up(
    client: httpx.AsyncClient, db_path: Path, language: str, reason: str
) -> None:
    await low_score(client, language, score=1)
    ended = await post(client, {"text": reason, "lang": language})
    assert bot_texts(ended)[0] == HANDED_OFF[language]
    assert "probe-requested" not in ended["events"]
    assert query(db_path, "SELECT status FROM conversation") == [("handed_off",)]
    assert query(db_path, "SELECT count(*) FROM answer WHERE variable = 'reason'") == [(1,)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = await FakeOpenAI().start()
    yield server
    await server.stop()


@pytest.fixture
async def with_model(
    tmp_path: Path, db_url: str, fake: FakeOpenAI
) -> AsyncIterator[httpx.AsyncClient]:
    """The web chat with the fake endpoint as its model (the analysis worker off, so the only
    calls are follow-ups)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        flow_reload_seconds=0,
        flows_dir=tmp_path / "flows",
        openai_api_key=fake.api_key,
        openai_base_url=fake.base_url,
        llm_model="fake-model",
        analysis_in_app=False,
    )
    settings.flows_dir.mkdir(exist_ok=True)  # type: ignore[union-attr]
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.mark.parametrize(
    ("language", "vague", "generated"),
    [
        ("zh", "不好", "MODEL: 能具体说说哪里不好吗？"),
        ("en", "meh", "MODEL: What exactly went wrong?"),
    ],
)
async def test_with_a_model_the_follow_up_is_generated_once(
    with_model: httpx.AsyncClient,
    fake: FakeOpenAI,
    db_path: Path,
    language: str,
    vague: str,
    generated: str,
) -> None:
    await low_score(with_model, language, score=2)
    probed = await post(with_model, {"text": vague, "lang": language})
    assert bot_texts(probed) == [generated]
    assert fake.schemas() == ["probe"]
    sent = customer_data(fake.requests[0])
    assert sent == {"question": ASK_WHY[language], "score": 2, "answer": vague}
    system = fake.requests[0]["messages"][0]["content"]
    assert "which part disappointed them" in system  # the shipped step's instructions
    history = (await with_model.get("/chat/nps/messages")).json()["messages"]
    assert [m["text"] for m in history if m["direction"] == "out"][-1] == generated

    ended = await post(with_model, {"text": vague, "lang": language})  # vague again
    assert bot_texts(ended)[0] == HANDED_OFF[language]
    assert "interview-handed-off" in ended["events"]
    assert fake.schemas() == ["probe"]  # no second follow-up, so no second call
    assert query(db_path, "SELECT status FROM conversation") == [("handed_off",)]
