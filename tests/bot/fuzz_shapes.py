"""Real shapes of what the platforms post, the seeds the fuzz tests mutate.

Telegram updates follow https://core.telegram.org/bots/api#update (as captured from the
Bot API); WeChat messages follow the 公众号 message push documentation.
"""

from __future__ import annotations

import copy
import itertools
import time
from typing import Any

CHAT_ID = 700_100_200
ALICE = {
    "id": CHAT_ID,
    "is_bot": False,
    "first_name": "Alice",
    "last_name": "Liddell",
    "username": "alice_l",
    "language_code": "en",
    "is_premium": True,
}
CHAT = {"id": CHAT_ID, "first_name": "Alice", "last_name": "Liddell", "type": "private"}
BOT = {"id": 4242, "is_bot": True, "first_name": "cxbot", "username": "cxbot_test_bot"}
DATE = 1_772_442_000


def _message(**content: Any) -> dict[str, Any]:
    return {"message_id": 1234, "from": ALICE, "chat": CHAT, "date": DATE, **content}


TELEGRAM_SEEDS: dict[str, dict[str, Any]] = {
    "text": {"update_id": 0, "message": _message(text="The delivery was late 😞")},
    "start with payload": {
        "update_id": 0,
        "message": _message(
            text="/start csat",
            entities=[{"offset": 0, "length": 6, "type": "bot_command"}],
        ),
    },
    "callback query": {
        "update_id": 0,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": ALICE,
            "message": {
                "message_id": 77,
                "from": BOT,
                "chat": CHAT,
                "date": DATE,
                "text": "How likely are you to recommend us?",
                "reply_markup": {
                    "inline_keyboard": [
                        [{"text": "9", "callback_data": "a:77:9"}],
                        [{"text": "10", "callback_data": "a:77:10"}],
                    ]
                },
            },
            "chat_instance": "-8243723423423",
            "data": "a:77:9",
        },
    },
    "edited message": {
        "update_id": 0,
        "edited_message": _message(text="8", edit_date=DATE + 60),
    },
    "sticker": {
        "update_id": 0,
        "message": _message(
            sticker={
                "file_id": "CAACAgIAAxkBAAE",
                "file_unique_id": "AgADrQ",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
                "thumbnail": {
                    "file_id": "AAMCAgAD",
                    "file_unique_id": "AQADrQ",
                    "width": 128,
                    "height": 128,
                    "file_size": 5000,
                },
            }
        ),
    },
}
"""The update shapes the Telegram fuzz test mutates."""

TELEGRAM_MORE_SEEDS: dict[str, dict[str, Any]] = {
    "photo with caption": {
        "update_id": 0,
        "message": _message(
            photo=[
                {"file_id": "AgACAgIAAxk", "file_unique_id": "AQADi", "width": 90, "height": 90}
            ],
            caption="look at this #broken",
            caption_entities=[{"offset": 13, "length": 7, "type": "hashtag"}],
        ),
    },
    "reply with link": {
        "update_id": 0,
        "message": _message(
            text="see https://example.com",
            entities=[{"offset": 4, "length": 19, "type": "url"}],
            reply_to_message=_message(text="What went wrong?", **{"from": BOT}),
            forward_origin={"type": "user", "date": DATE, "sender_user": ALICE},
        ),
    },
    "group message": {
        "update_id": 0,
        "message": _message(
            text="/start@cxbot_test_bot",
            chat={"id": -100123, "title": "Fans", "type": "supergroup"},
            entities=[{"offset": 0, "length": 21, "type": "bot_command"}],
        ),
    },
    "member update": {
        "update_id": 0,
        "my_chat_member": {
            "chat": CHAT,
            "from": ALICE,
            "date": DATE,
            "old_chat_member": {"status": "member", "user": BOT},
            "new_chat_member": {"status": "kicked", "user": BOT, "until_date": 0},
        },
    },
    "contact and location": {
        "update_id": 0,
        "message": _message(
            contact={"phone_number": "+4912345", "first_name": "Alice", "user_id": CHAT_ID},
            location={"latitude": 52.52, "longitude": 13.4, "horizontal_accuracy": 20.5},
        ),
    },
    "inline query": {
        "update_id": 0,
        "inline_query": {"id": "99", "from": ALICE, "query": "nps", "offset": ""},
    },
}
"""Further shapes, for the longer run (benchmarks/fuzz.py)."""

_update_ids = itertools.count(900_000_000)


def fresh_update(seed: dict[str, Any]) -> dict[str, Any]:
    """A copy of a seed with an update_id not used before (so it is not a redelivery)."""
    update = copy.deepcopy(seed)
    update["update_id"] = next(_update_ids)
    return update


ACCOUNT = "gh_cxbot0test01"
OPENID = "oFuzz0000000000000000000001"
_msg_ids = itertools.count(25_000_000_000_000_001)


def wechat_fields(kind: str) -> dict[str, Any]:
    """The fields of one WeChat message or event (fresh MsgId and CreateTime)."""
    base: dict[str, Any] = {
        "ToUserName": ACCOUNT,
        "FromUserName": OPENID,
        "CreateTime": str(int(time.time())),
    }
    if kind == "text":
        return base | {"MsgType": "text", "Content": "服务太慢了", "MsgId": str(next(_msg_ids))}
    if kind == "image":
        return base | {
            "MsgType": "image",
            "PicUrl": "http://mmbiz.qpic.cn/x.jpg",
            "MediaId": "media_id_1",
            "MsgId": str(next(_msg_ids)),
        }
    if kind == "subscribe":
        return base | {"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_csat"}
    if kind == "click":
        return base | {"MsgType": "event", "Event": "CLICK", "EventKey": "nps"}
    if kind == "location event":
        return base | {
            "MsgType": "event",
            "Event": "LOCATION",
            "Latitude": "23.137466",
            "Longitude": "113.352425",
            "Precision": "119.385040",
        }
    raise ValueError(kind)


WECHAT_KINDS = ("text", "image", "subscribe", "click", "location event")
