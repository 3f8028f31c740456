"""The Telegram channel end to end: Update JSON posted to the webhook, the real PTB client
sending to a recording fake Bot API on 127.0.0.1, a real SQLite file underneath."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.bot.telegram_chat import (
    WEBHOOK,
    TelegramCustomer,
    Updates,
    assert_transcript_matches,
    rows,
    transcript,
)
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
def client(served: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    """An in-process client of the running app."""
    return served[1]


@pytest.fixture
def updates() -> Updates:
    """Update and message id counters."""
    return Updates()


@pytest.fixture
def alice(client: httpx.AsyncClient, fake: FakeTelegram, updates: Updates) -> TelegramCustomer:
    """An English-speaking customer."""
    return TelegramCustomer(client, fake, updates, chat_id=7001, name="Alice", language="en")


@pytest.fixture
def wei(client: httpx.AsyncClient, fake: FakeTelegram, updates: Updates) -> TelegramCustomer:
    """A Chinese-speaking customer."""
    return TelegramCustomer(client, fake, updates, chat_id=7002, name="伟", language="zh-hans")


def keyboard_rows(fake: FakeTelegram, chat_id: int) -> list[list[tuple[str, str]]]:
    """(label, callback data) rows of the last keyboard sent to a chat."""
    call = [c for c in fake.sent(chat_id) if "reply_markup" in c.params][-1]
    return [
        [(b["text"], b["callback_data"]) for b in row]
        for row in call.params["reply_markup"]["inline_keyboard"]
    ]


async def test_startup_says_hello_to_the_bot_api(served: object, fake: FakeTelegram) -> None:
    assert [c.method for c in fake.calls] == ["getMe"]


async def test_nps_by_buttons(alice: TelegramCustomer, fake: FakeTelegram, db_path: Path) -> None:
    await alice.says("/start")
    assert alice.last() == (
        "Hi! How likely are you to recommend us to a friend or colleague?\n"
        "0 = Not at all likely · 10 = Extremely likely"
    )
    layout = keyboard_rows(fake, alice.chat_id)
    assert [[label for label, _ in row] for row in layout] == [
        ["0", "1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10"],
    ]
    assert layout[1][3] == ("9", "=ask_score:9")

    await alice.taps("9")
    query_id = alice.last_update["callback_query"]["id"]
    assert fake.called("answerCallbackQuery")[-1].params == {"callback_query_id": query_id}
    edit = fake.called("editMessageReplyMarkup")[-1].params
    assert edit["chat_id"] == alice.chat_id
    assert edit["message_id"] == fake.sent(alice.chat_id)[0].result_id
    assert "inline_keyboard" not in str(edit.get("reply_markup", ""))  # keyboard removed
    assert alice.last() == "Wonderful! What did you like most?\n(reply “skip” to skip)"

    await alice.says("The courier was quick and polite")
    assert alice.last() == "Thank you for your feedback. Have a great day!"

    assert rows(db_path, "SELECT variable, score, text, channel FROM answer ORDER BY id") == [
        ("score", 9, None, "telegram"),
        ("reason", None, "The courier was quick and polite", "telegram"),
    ]
    assert rows(db_path, "SELECT flow_id, status, language FROM conversation") == [
        ("nps", "completed", "en")
    ]
    assert rows(db_path, "SELECT external_id, display_name, language FROM customer") == [
        ("7001", "Alice", "en")
    ]
    stored = transcript(db_path, alice.chat_id)
    assert [(d, t) for d, t, _, _ in stored if d == "in"] == [
        ("in", "/start"),
        ("in", "9"),  # the tap, shown by its label; the payload is on the row
        ("in", "The courier was quick and polite"),
    ]
    assert rows(db_path, "SELECT payload FROM message WHERE direction = 'in' AND text = '9'") == [
        ('{"button": "ask_score:9"}',)
    ]
    assert_transcript_matches(db_path, fake, alice)


async def test_nps_by_typed_text_in_chinese(
    wei: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    await wei.says("评价")  # the flow's trigger keyword
    assert wei.last().startswith("您好！您有多大可能把我们推荐给朋友或同事？")
    await wei.says("我给8分")
    assert wei.last().startswith("谢谢！我们做到哪一点，您会打更高分？")
    await wei.says("跳过")
    assert wei.last() == "感谢您的反馈，祝您生活愉快！"
    assert rows(db_path, "SELECT variable, score, text FROM answer ORDER BY id") == [
        ("score", 8, None),
        ("reason", None, None),
    ]
    assert rows(db_path, "SELECT status, language FROM conversation") == [("completed", "zh")]
    assert_transcript_matches(db_path, fake, wei)


async def test_detractor_reaches_an_escalation(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    await alice.says("/start nps")
    await alice.taps("3")
    assert alice.last() == "Sorry we let you down. What went wrong?"
    await alice.says("Two weeks late and nobody answered my emails")
    handoff, wait = fake.texts(alice.chat_id)[-2:]
    assert handoff.startswith("Thank you for telling us. A member of our team")
    assert wait == "Our team is in now: expect a reply here within 1 hour."  # 24/7, high
    assert rows(db_path, "SELECT reason, priority, status FROM escalation") == [
        ("detractor", "high", "open")
    ]
    assert ("escalation-requested",) in rows(db_path, "SELECT name FROM event")
    assert rows(db_path, "SELECT status FROM conversation") == [("handed_off",)]
    assert_transcript_matches(db_path, fake, alice)


async def test_ces_by_deep_link_then_buttons(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    await alice.says("/start ces")  # t.me/cxbot_test_bot?start=ces
    assert "made it easy to handle my issue" in alice.last()
    assert [[label for label, _ in row] for row in keyboard_rows(fake, alice.chat_id)] == [
        ["1", "2", "3", "4", "5", "6", "7"]
    ]
    await alice.taps("6")
    assert alice.last() == "Is your issue resolved now?"
    assert [[label for label, _ in row] for row in keyboard_rows(fake, alice.chat_id)] == [
        ["Yes", "Partly"],
        ["No"],
    ]
    await alice.taps("Yes")
    assert alice.last() == "Thank you for your feedback!"
    assert rows(db_path, "SELECT variable, score, text FROM answer ORDER BY id") == [
        ("effort", 6, None),
        ("resolved", None, "yes"),
    ]
    assert rows(db_path, "SELECT flow_id, status FROM conversation") == [("ces", "completed")]
    assert_transcript_matches(db_path, fake, alice)


async def test_csat_low_score_with_choices_escalates(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    await alice.says("/start csat")
    assert [[label for label, _ in row] for row in keyboard_rows(fake, alice.chat_id)] == [
        ["1", "2", "3", "4", "5"]
    ]
    await alice.taps("2")
    assert alice.last() == "Sorry about that! What was the main problem?"
    layout = keyboard_rows(fake, alice.chat_id)
    assert [len(row) for row in layout] == [1, 1, 1, 1, 1]  # long labels: one per row
    assert layout[3] == [("Courier's service", "=what_went_wrong:courier")]
    await alice.says("2")  # typing the number of a choice works too
    assert alice.last().startswith("Could you tell us a bit more?")
    await alice.says("The box was crushed")
    assert fake.texts(alice.chat_id)[-2].startswith("We're very sorry.")
    assert alice.last() == "Our team is in now: expect a reply here within 4 hours."
    assert rows(db_path, "SELECT variable, score, text FROM answer ORDER BY id") == [
        ("satisfaction", 2, None),
        ("problem", None, "damaged"),
        ("reason", None, "The box was crushed"),
    ]
    assert rows(db_path, "SELECT reason, priority FROM escalation") == [("dissatisfied", "normal")]
    assert_transcript_matches(db_path, fake, alice)


async def test_stop_and_human_commands(
    alice: TelegramCustomer, wei: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    await alice.says("/start")
    await alice.says("/stop")
    assert alice.last() == "OK, this survey has ended. Thank you for your time!"
    await wei.says("/start")
    await wei.says("/human@cxbot_test_bot")
    assert fake.texts(wei.chat_id)[-2].startswith("好的，正在为您转接人工客服")
    assert wei.last() == "客服同事正在值班，预计 1 小时内在这里回复您。"
    assert rows(db_path, "SELECT status FROM conversation ORDER BY id") == [
        ("abandoned",),
        ("handed_off",),
    ]
    assert rows(db_path, "SELECT reason FROM escalation") == [("customer-request",)]


async def test_a_typed_answer_removes_the_question_keyboard(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    await alice.says("/start")
    question = fake.sent(alice.chat_id)[0]
    await alice.says("9")  # typed instead of tapped
    (edit,) = fake.called("editMessageReplyMarkup")
    assert edit.params == {"chat_id": alice.chat_id, "message_id": question.result_id}
    assert edit.at < fake.sent(alice.chat_id)[1].at  # gone before the next question
    assert alice.last().startswith("Wonderful! What did you like most?")
    await alice.says("Fast delivery")  # an open question: no keyboard to remove
    assert len(fake.called("editMessageReplyMarkup")) == 1
    assert_transcript_matches(db_path, fake, alice)


async def test_a_tap_on_an_old_keyboard_is_answered_and_ignored(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    await alice.says("/start")
    stale = alice.tap_update("10")  # the first keyboard, kept by the customer's app
    await alice.says("9")
    await alice.post(stale)
    assert fake.called("answerCallbackQuery")[-1].params == {
        "callback_query_id": stale["callback_query"]["id"],
        "text": "This question was already answered.",
    }
    assert len(fake.sent(alice.chat_id)) == 2  # no re-ask
    assert alice.last().startswith("Wonderful! What did you like most?")

    await alice.says("Fast delivery")
    finished = len(fake.sent(alice.chat_id))
    late = alice.tap_update("10")  # after the interview ended: no welcome text either
    await alice.post(late)
    assert fake.called("answerCallbackQuery")[-1].params["text"] == (
        "This question was already answered."
    )
    assert len(fake.sent(alice.chat_id)) == finished
    assert rows(db_path, "SELECT variable, score FROM answer ORDER BY id") == [
        ("score", 9),
        ("reason", None),
    ]
    assert rows(db_path, "SELECT count(*) FROM message WHERE direction = 'in'") == [(3,)]
    assert_transcript_matches(db_path, fake, alice)


async def test_a_redelivered_update_is_answered_once(
    alice: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    update = alice.message("/start")
    await alice.post(update)
    await alice.post(update)  # Telegram did not see our 200 and sends it again
    assert len(fake.sent(alice.chat_id)) == 1
    assert rows(db_path, "SELECT count(*) FROM message WHERE direction = 'in'") == [(1,)]
    tap = alice.tap_update("10")
    await alice.post(tap)
    await alice.post(tap)
    assert len(fake.sent(alice.chat_id)) == 2
    assert rows(db_path, "SELECT count(*) FROM answer") == [(1,)]


@pytest.mark.parametrize("secret", [None, "wrong-secret", "s3cr3t_Token-"])
async def test_a_missing_or_wrong_secret_is_refused(
    client: httpx.AsyncClient,
    alice: TelegramCustomer,
    fake: FakeTelegram,
    db_path: Path,
    secret: str | None,
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    response = await client.post(WEBHOOK, json=alice.message("/start"), headers=headers)
    assert response.status_code == 403
    assert fake.sent() == []
    for table in ("customer", "message", "conversation", "event"):
        assert rows(db_path, f"SELECT count(*) FROM {table}") == [(0,)]


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"",
        b"[1, 2]",
        b'{"message": {"text": "no update_id"}}',
        b'{"update_id": "7"}',
        b'{"update_id": 7, "message": "not an object"}',
        b'{"update_id": 7, "message": {"message_id": 1}}',
        b'{"update_id": 12, "message": {"message_id": 1, "date": 1, "text": "no chat"}}',
        b'{"update_id": 13, "message": {"message_id": 1, "date": 1, "text": 5,'
        b' "chat": {"id": 5, "type": "private"}}}',
        b'{"update_id": 14, "message": {"message_id": 1, "date": 1, "text": "\\ud800",'
        b' "chat": {"id": 5, "type": "private"}}}',
        b'{"update_id": 15, "callback_query": {"id": "1", "chat_instance": "c", "data": "x"}}',
    ],
)
async def test_a_malformed_body_is_a_400(
    client: httpx.AsyncClient,
    fake: FakeTelegram,
    db_path: Path,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = await client.post(
        WEBHOOK,
        content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cr3t_Token-1"},
    )
    assert response.status_code == 400
    assert "malformed update" in caplog.text
    assert fake.sent() == []
    assert rows(db_path, "SELECT count(*) FROM message") == [(0,)]


async def test_other_updates_are_answered_politely_or_ignored(
    alice: TelegramCustomer, fake: FakeTelegram, updates: Updates, db_path: Path
) -> None:
    sticker = {
        "file_id": "CAACAgIAAxkBAAE",
        "file_unique_id": "AgADrQ",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    photo = [{"file_id": "AgACAgIAAxk", "file_unique_id": "AQADi", "width": 90, "height": 90}]
    await alice.says("/start")
    await alice.post(alice.message(sticker=sticker))
    assert alice.last() == "Sorry, I can only read text messages. Please reply in words."
    await alice.post(
        alice.message(voice={"file_id": "AwAC", "file_unique_id": "AgAD", "duration": 2})
    )
    await alice.post(alice.message(photo=photo, caption="look"))
    assert len(fake.sent(alice.chat_id)) == 4

    edited = alice.message("8")["message"] | {"edit_date": 1_772_442_100}
    group = {"id": -100123, "title": "Fans", "type": "supergroup"}
    channel = {"id": -100999, "title": "News", "type": "channel"}
    ignored = [
        {"update_id": updates.next_id(), "edited_message": edited},
        {
            "update_id": updates.next_id(),
            "message": alice.message("8")["message"] | {"chat": group},
        },
        {
            "update_id": updates.next_id(),
            "channel_post": {"message_id": 9, "chat": channel, "date": 1_772_442_000, "text": "hi"},
        },
        {
            "update_id": updates.next_id(),
            "my_chat_member": {
                "chat": alice.chat,
                "from": alice.user,
                "date": 1_772_442_000,
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": 4242, "is_bot": True, "first_name": "cxbot"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "user": {"id": 4242, "is_bot": True, "first_name": "cxbot"},
                    "until_date": 0,
                },
            },
        },
        {"update_id": updates.next_id(), "some_future_update": {"x": 1}},
        {"update_id": updates.next_id()},
    ]
    for update in ignored:
        await alice.post(update)
    assert len(fake.sent(alice.chat_id)) == 4  # nothing more was said
    assert len(fake.sent()) == 4
    assert rows(db_path, "SELECT score FROM answer") == []  # "8" in a group/edit is no answer
    await alice.taps("8")  # the interview goes on
    assert alice.last().startswith("Thanks! What one thing would make it a higher score?")


async def test_two_customers_interleaved(
    alice: TelegramCustomer, wei: TelegramCustomer, fake: FakeTelegram, db_path: Path
) -> None:
    async def alice_chats() -> None:
        await alice.says("/start")
        await alice.taps("10")
        await alice.says("Everything just worked")

    async def wei_chats() -> None:
        await wei.says("/start csat")
        await wei.taps("5")
        await wei.says("准时送达，包装很好")

    await asyncio.gather(alice_chats(), wei_chats())  # both chats at once, each in order
    assert alice.last() == "Thank you for your feedback. Have a great day!"
    assert wei.last() == "感谢您的评价，期待再次为您服务！"
    assert fake.texts(alice.chat_id)[1].startswith("Wonderful!")
    assert fake.texts(wei.chat_id)[1].startswith("太好了！")
    assert rows(
        db_path,
        "SELECT c.external_id, a.flow_id, a.variable, a.score, a.text FROM answer a "
        "JOIN conversation v ON v.id = a.conversation_id JOIN customer c ON c.id = v.customer_id "
        "ORDER BY c.external_id, a.id",
    ) == [
        ("7001", "nps", "score", 10, None),
        ("7001", "nps", "reason", None, "Everything just worked"),
        ("7002", "csat", "satisfaction", 5, None),
        ("7002", "csat", "reason", None, "准时送达，包装很好"),
    ]
    assert_transcript_matches(db_path, fake, alice)
    assert_transcript_matches(db_path, fake, wei)


async def test_messages_to_one_chat_are_paced(
    served: tuple[FastAPI, httpx.AsyncClient], alice: TelegramCustomer, fake: FakeTelegram
) -> None:
    interval = served[0].state.telegram.pacer.interval
    await alice.says("/start")
    await alice.taps("4")
    await alice.says("delivery was slow")  # the handoff text and the wait message: two sends
    times = [c.at for c in fake.sent(alice.chat_id)]
    assert len(times) == 4
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= interval * 0.75, gaps  # spaced (arrival jitter aside), never a burst
