"""A vague answer in a WeChat interview gets one follow-up: worded by the model (the fake
OpenAI-compatible endpoint) when it answers in time, the flow's static text when it hangs
past the probe budget or words it with a link — and the passive reply always comes within
WeChat's 5 seconds."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.bot.wechat_chat import Rig, running
from tests.fakes.openai_api import FakeOpenAI, Fault

FLOW = """\
id: probed
name: {zh: 满意度, en: Satisfaction}
touchpoint: after_support
journey_stage: usage
languages: [zh, en]
default_language: zh
start:
  keywords: [调查]
steps:
  - id: ask_score
    type: scale
    metric: nps
    save_as: score
    text: {zh: 您会推荐我们吗？, en: "Would you recommend us?"}
  - id: why
    type: open
    save_as: reason
    text: {zh: 为什么？, en: "Why?"}
    probe:
      text: {zh: 能具体说说是哪方面吗？, en: "Could you tell us what exactly?"}
  - id: bye
    type: end
    text: {zh: 谢谢！, en: Thanks!}
"""
FALLBACK = "能具体说说是哪方面吗？"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = await FakeOpenAI().start()
    yield server
    await server.stop()


@pytest.fixture
async def rig(tmp_path: Path, db_path: Path, db_url: str, fake: FakeOpenAI) -> AsyncIterator[Rig]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "probed.yaml").write_text(FLOW, encoding="utf-8")
    settings: dict[str, Any] = {
        "flows_dir": flows,
        "include_builtin_flows": False,
        "openai_api_key": fake.api_key,
        "openai_base_url": fake.base_url,
        "llm_model": "fake-model",
        "llm_probe_seconds": 1.5,
        "analysis_in_app": False,
    }
    async with running(db_path, db_url, **settings) as rig:
        yield rig


async def test_the_model_words_the_follow_up(rig: Rig, fake: FakeOpenAI) -> None:
    customer = rig.follower("o_probe_model")
    assert await customer.says("调查") == "您会推荐我们吗？\n请回复 0-10 的数字"
    assert await customer.says("4") == "为什么？"
    assert await customer.says("不好") == "MODEL: 能具体说说哪里不好吗？"
    assert fake.schemas() == ["probe"]
    assert rig.rows("SELECT text FROM message WHERE direction = 'out' ORDER BY id")[-1] == (
        "MODEL: 能具体说说哪里不好吗？",
    )
    assert await customer.says("快递员把包裹放在门口就走了") == "谢谢！"


async def test_a_hanging_model_still_gets_the_passive_reply_in_time(
    rig: Rig, fake: FakeOpenAI
) -> None:
    customer = rig.follower("o_probe_slow")
    await customer.says("调查")
    await customer.says("4")
    fake.faults = [Fault(hang=10.0)]
    started = time.monotonic()
    assert await customer.says("不好") == FALLBACK
    took = time.monotonic() - started
    print(f"\npassive reply with the model hanging: {took * 1000:.0f} ms")
    assert 1.4 < took < 4.0  # the 1.5 s probe budget, then the static follow-up
    assert rig.rows("SELECT text FROM message WHERE direction = 'out' ORDER BY id")[-1] == (
        FALLBACK,
    )


async def test_a_follow_up_with_a_link_is_never_sent(rig: Rig, fake: FakeOpenAI) -> None:
    fake.respond = lambda schema, request: {"question": "详情请看 https://evil.example.com"}
    customer = rig.follower("o_probe_link")
    await customer.says("调查")
    await customer.says("4")
    assert await customer.says("不好") == FALLBACK


async def test_a_concrete_answer_gets_no_follow_up_and_no_call(rig: Rig, fake: FakeOpenAI) -> None:
    customer = rig.follower("o_probe_none")
    await customer.says("调查")
    await customer.says("4")
    assert await customer.says("客服态度很差，问题三天都没解决") == "谢谢！"
    assert fake.requests == []
