"""Translating what WeChat posts (parsed by wechatpy) into what the conversation service hears.

Text is text; images, voice, video, location, links and files get the polite "text only"
note; a follow (subscribe, with a QR scene naming a flow), a menu CLICK or a SCAN naming a
flow starts that flow; other events start nothing.
"""

from __future__ import annotations

import re
from typing import Any

from bot.channel import Incoming
from flows.registry import FlowRegistry

CHANNEL = "wechat"
DEFAULT_FLOW = "nps"
"""The flow a plain follow (subscribe) starts."""
UNSUPPORTED_TYPES = ("image", "voice", "video", "shortvideo", "location", "link", "file")
OPENID = re.compile(r"[A-Za-z0-9_-]{1,128}")
"""What an openid (FromUserName) looks like: WeChat's are 28 base64url characters."""
NUMBER = re.compile(r"[0-9]{1,20}")
"""CreateTime and MsgId: ASCII digits (Python's int() also reads "١٧٠٠" and "１７００")."""
TEXT_FIELDS = (
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "MsgId",
    "Content",
    "Event",
    "EventKey",
)
"""The fields read here; each must be plain text (not a nested or repeated element)."""


def to_incoming(message: Any, registry: FlowRegistry) -> Incoming | None:
    """What the conversation service should hear, or None (answer "success")."""
    if message is None:
        raise ValueError("empty body")
    fields = _fields(message)
    openid = (fields.get("FromUserName") or "").strip()
    if not openid or message.type in ("", None):
        raise ValueError("no FromUserName or MsgType")
    if not OPENID.fullmatch(openid):
        raise ValueError("a FromUserName that is not an openid")
    if not NUMBER.fullmatch(fields.get("CreateTime") or ""):
        raise ValueError("a CreateTime that is not a number")
    if message.type in ("text", *UNSUPPORTED_TYPES) and not message.id:
        raise ValueError(f"a {message.type} message without MsgId")
    if "MsgId" in fields and not NUMBER.fullmatch(fields["MsgId"] or ""):
        raise ValueError("a MsgId that is not a number")
    if message.type == "text":
        return Incoming(
            channel=CHANNEL,
            customer_ref=openid,
            kind="text",
            text=str(message.content or "").strip(),
            platform_message_id=f"msg:{message.id}",
        )
    if message.type in UNSUPPORTED_TYPES:
        return Incoming(
            channel=CHANNEL,
            customer_ref=openid,
            kind="unsupported",
            platform_message_id=f"msg:{message.id}",
        )
    if message.type != "event":
        return None
    event_id = f"ev:{openid}:{message.time}"
    flow_id = _flow_for_event(message, registry)
    if flow_id is None:
        return None
    return Incoming(
        channel=CHANNEL,
        customer_ref=openid,
        kind="command",
        command="start",
        flow_id=flow_id or None,
        platform_message_id=event_id,
    )


def _fields(message: Any) -> dict[str, str | None]:
    """The raw text of the fields read here, as parsed from the XML.

    wechatpy keeps the parsed fields in `_data` and converts them leniently when read (a
    nested element comes back as a dict, a repeated one as a list; int() reads non-ASCII
    digits): the values are checked here before anything is converted.
    """
    data = getattr(message, "_data", None)
    if not isinstance(data, dict):
        raise ValueError("not a WeChat message")
    fields = {name: data.get(name) for name in TEXT_FIELDS if name in data}
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} is not plain text")
    return fields


def _flow_for_event(message: Any, registry: FlowRegistry) -> str | None:
    """The flow an event starts: "" for the default one, None for no interview."""
    event = message.event
    if event in ("subscribe", "subscribe_scan"):
        scene = str(getattr(message, "scene_id", "") or "")
        if scene and registry.current(scene) is not None:
            return scene
        return DEFAULT_FLOW if registry.current(DEFAULT_FLOW) is not None else ""
    if event in ("click", "scan"):
        key = str(getattr(message, "key", None) or getattr(message, "scene_id", "") or "")
        return key if key and registry.current(key) is not None else None
    return None
