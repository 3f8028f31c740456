"""Sending to Telegram: keyboards, pacing, 429 retry_after, network backoff, final failures."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot.telegram_sender import (
    ChatPacer,
    answer_from_callback,
    callback_data,
    keyboard,
    message_text,
)
from flows.state import Button, Outbound
from tests.bot.telegram_chat import (
    TelegramCustomer,
    Updates,
    assert_transcript_matches,
    rows,
    transcript,
)
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
def alice(served: tuple[FastAPI, httpx.AsyncClient], fake: FakeTelegram) -> TelegramCustomer:
    """A customer in a private chat."""
    return TelegramCustomer(served[1], fake, Updates(), chat_id=8001)


def scale(low: int, high: int) -> tuple[Button, ...]:
    return tuple(Button(str(n), f"ask_score:{n}") for n in range(low, high + 1))


def labels(buttons: tuple[Button, ...]) -> list[list[str]]:
    markup = keyboard(buttons)
    assert markup is not None
    return [[key.text for key in row] for row in markup.inline_keyboard]


def test_scales_get_one_row_and_nps_two() -> None:
    assert labels(scale(0, 10)) == [["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]
    assert labels(scale(1, 7)) == [["1", "2", "3", "4", "5", "6", "7"]]
    assert labels(scale(1, 5)) == [["1", "2", "3", "4", "5"]]
    assert labels(scale(1, 10)) == [["1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]


def test_choices_two_per_row_when_short_else_one() -> None:
    short = tuple(Button(label, f"q:{label}") for label in ("Yes", "Partly", "No"))
    assert labels(short) == [["Yes", "Partly"], ["No"]]
    long = (Button("It arrived late", "q:late"), Button("Item damaged", "q:damaged"))
    assert labels(long) == [["It arrived late"], ["Item damaged"]]


def test_callback_data_fits_64_bytes_for_the_longest_payload() -> None:
    payload = "s" * 30 + ":" + "v" * 32  # the longest step id and value a flow allows
    assert len(payload) == 63
    data = callback_data(Button("x", payload))
    assert len(data.encode()) == 64
    assert answer_from_callback(data) == payload
    assert answer_from_callback("other:thing") is None
    assert answer_from_callback(None) is None


def test_too_long_callback_data_falls_back_to_the_text_hint() -> None:
    message = Outbound("Pick one", (Button("A", "q:" + "x" * 70),), "Reply with 1", "q")
    markup = keyboard(message.buttons)
    assert markup is None
    assert message_text(message, markup) == "Pick one\nReply with 1"


async def test_pacer_spaces_one_chat_but_not_others() -> None:
    pacer = ChatPacer(interval=0.15)
    start = time.monotonic()
    waits = await asyncio.gather(pacer.wait(1), pacer.wait(1), pacer.wait(1), pacer.wait(2))
    assert waits[0] == 0 and waits[3] == 0  # the first message, and another chat's: at once
    assert 0.1 < waits[1] <= 0.15  # slots reserved 0.15 s apart (less the time to ask)
    assert 0.25 < waits[2] <= 0.30
    assert 0.28 <= time.monotonic() - start < 2.0


async def test_pacer_hold_delays_only_that_chat() -> None:
    pacer = ChatPacer(interval=0)
    pacer.hold(1, 0.2)
    start = time.monotonic()
    await pacer.wait(2)
    assert time.monotonic() - start < 0.15
    await pacer.wait(1)
    assert time.monotonic() - start >= 0.19


async def test_pacer_turns_keep_one_chat_in_order() -> None:
    pacer = ChatPacer(interval=0)
    order: list[str] = []

    async def turn(name: str, delay: float) -> None:
        async with pacer.turn(1):
            await asyncio.sleep(delay)
            order.append(name)

    await asyncio.gather(turn("first", 0.05), turn("second", 0))
    assert order == ["first", "second"]
    assert pacer._locks == {}  # nothing kept for idle chats


async def test_a_429_is_retried_after_retry_after(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=1, chat_id=alice.chat_id)
    started = time.monotonic()
    await alice.says("/start")
    took = time.monotonic() - started
    attempts = [c for c in fake.calls if c.method == "sendMessage"]
    assert [c.status for c in attempts] == [429, 200]
    delay = attempts[1].at - attempts[0].at
    print(f"429 retry: resent after {delay:.2f}s (webhook answered in {took:.2f}s)")
    assert 1.0 <= delay < 5.0  # retry_after (1 s), not at once; the bound only for a hang
    assert transcript(db_path, alice.chat_id)[-1][2] == "sent"
    assert_transcript_matches(db_path, fake, alice)


async def test_network_errors_are_retried_with_backoff(
    served: tuple[FastAPI, httpx.AsyncClient],
    alice: TelegramCustomer,
    fake: FakeTelegram,
    db_path: Path,
) -> None:
    served[0].state.telegram.pacer.interval = 0  # only the backoff between attempts
    fake.fail_next("sendMessage", status=502, description="Bad Gateway", times=2)
    await alice.says("/start")
    attempts = [c for c in fake.calls if c.method == "sendMessage"]
    assert [c.status for c in attempts] == [502, 502, 200]
    first, second = (b.at - a.at for a, b in itertools.pairwise(attempts))
    assert first >= 0.05 and second >= 0.1  # 0.05 s, then 0.10 s: the wait doubles
    assert_transcript_matches(db_path, fake, alice)


async def test_a_429_beyond_the_retries_goes_back_to_the_queue(
    served: tuple[FastAPI, httpx.AsyncClient],
    alice: TelegramCustomer,
    fake: FakeTelegram,
    db_path: Path,
) -> None:
    served[0].state.telegram.sender.flood_retries = 1
    fake.fail_next("sendMessage", status=429, retry_after=1, chat_id=alice.chat_id, times=2)
    await alice.says("/start")
    assert fake.sent() == []
    assert rows(db_path, "SELECT delivery_state, error FROM message WHERE direction = 'out'") == [
        ("pending", "RetryAfter: Flood control exceeded. Retry in 0:00:01")
    ]  # not lost: the delivery sweeper sends it once Telegram's wait is over


async def test_a_send_that_finally_fails_is_recorded(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    fake.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    await alice.says("/start")
    assert fake.sent() == []
    assert rows(db_path, "SELECT direction, delivery_state, error FROM message ORDER BY id") == [
        ("in", "received", None),
        ("out", "failed", "Forbidden: Forbidden: bot was blocked by the user"),
    ]


async def test_network_failures_beyond_the_retries_go_back_to_the_queue(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    fake.fail_next("sendMessage", status=502, description="Bad Gateway", times=4)
    await alice.says("/start")
    assert len(fake.called("sendMessage", ok=False)) == 4
    assert rows(db_path, "SELECT delivery_state, error FROM message WHERE direction = 'out'") == [
        ("pending", "NetworkError: Bad Gateway")
    ]
