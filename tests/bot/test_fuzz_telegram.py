"""Malformed but authenticated Telegram updates: a 400 (Telegram stops) or a 200, never a 5xx.

A 5xx makes Telegram deliver the update again and again; a junk update must be refused
with a 400 and a log line. Every field path of real update shapes is set to every wrong
kind of value and removed (a deterministic sweep), then hypothesis combines random
mutations (seeded). benchmarks/fuzz.py runs the same with more shapes and examples.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.bot.fuzz_shapes import TELEGRAM_MORE_SEEDS, TELEGRAM_SEEDS, fresh_update
from tests.bot.telegram_chat import SECRET, WEBHOOK, drain, running_app, telegram_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fuzzing import LONG, Tally, dumps, mutated, mutations, run_property

pytestmark = pytest.mark.backends("sqlite", "postgresql")

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
RANDOM_EXAMPLES = 3000 if LONG else 300
STRIDE = 1 if LONG else 4
"""Each field path gets every 4th wrong value here; benchmarks/fuzz.py tries them all."""
SEEDS = TELEGRAM_SEEDS | TELEGRAM_MORE_SEEDS if LONG else TELEGRAM_SEEDS


async def post_update(
    client: httpx.AsyncClient,
    update: Any,
    tally: Tally,
    what: str,
    caplog: pytest.LogCaptureFixture,
) -> str | None:
    """Post one update; what is wrong with the answer (not 200 or 400, a 400 not logged)."""
    caplog.clear()
    status = await tally.post(client, WEBHOOK, what, content=dumps(update), headers=HEADERS)
    await drain(client)  # the replies of a handled update go out after the answer
    if status not in (200, 400):
        return f"{status} for {what}"
    if status == 400 and "malformed update refused" not in caplog.text:
        return f"400 without a log line for {what}"
    return None


def sweep(seeds: dict[str, dict[str, Any]], stride: int = 1) -> list[tuple[Any, str]]:
    """Every seed with single mutations (fresh update ids unless the id is mutated)."""
    cases: list[tuple[Any, str]] = []
    for name, seed in seeds.items():
        cases.append((fresh_update(seed), f"{name} (as is)"))
        for mutation in mutations(seed, stride=stride):
            cases.append((mutation.apply(fresh_update(seed)), f"{name}: {mutation}"))
    return cases


async def test_malformed_updates_are_refused_never_5xx(
    backend: str,
    db_url: str,
    fake: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    tally = Tally(f"telegram webhook [{backend}]")
    async with running_app(telegram_settings(db_url, fake), pace=0.0) as (_, client):
        cases = sweep(SEEDS, STRIDE)
        wrong = [await post_update(client, case, tally, what, caplog) for case, what in cases]
        assert [w for w in wrong if w] == []

        async def check(example: tuple[Any, list[str]]) -> None:
            update, done = example
            if isinstance(update, dict) and isinstance(update.get("update_id"), int):
                update["update_id"] = fresh_update({})["update_id"]
            problem = await post_update(client, update, tally, "; ".join(done), caplog)
            assert problem is None, problem

        await run_property(mutated(list(SEEDS.values())), RANDOM_EXAMPLES, check)

        start = fresh_update(TELEGRAM_SEEDS["start with payload"])
        start["message"]["chat"]["id"] = start["message"]["from"]["id"] = 55_000_001
        before = len(fake.sent())
        assert await post_update(client, start, tally, "a well-formed /start", caplog) is None
        assert len(fake.sent()) > before, "the bot no longer answers after the fuzzing"
    with capsys.disabled():
        print(f"\n  {tally.line()}")
    assert tally.server_errors == []
    assert tally.statuses[400] > 0 and tally.statuses[200] > 0


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"from": {"id": [1], "is_bot": False, "first_name": "A"}}, "from_user.id"),  # was a 500
        ({"chat": {"id": "700100200", "type": "private"}}, "chat.id"),
        ({"date": "yesterday"}, "malformed"),
        ({"from": {"id": 1, "is_bot": False, "first_name": 7}}, "first_name"),
        ({"entities": [{"offset": "0", "length": 6, "type": "bot_command"}]}, "offset"),
        ({"chat": {"id": 2**64, "type": "private"}}, "chat.id"),
    ],
)
async def test_a_wrong_type_inside_a_message_is_named_in_the_log(
    backend: str,
    db_url: str,
    fake: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
    change: dict[str, Any],
    problem: str,
) -> None:
    update = fresh_update(SEEDS["start with payload"])
    update["message"] |= change
    async with running_app(telegram_settings(db_url, fake), pace=0.0) as (_, client):
        response = await client.post(WEBHOOK, content=dumps(update), headers=HEADERS)
    assert response.status_code == 400
    assert "malformed update refused" in caplog.text
    assert problem in caplog.text
    assert fake.sent() == []
