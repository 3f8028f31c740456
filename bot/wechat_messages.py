"""Translating what WeChat posts (parsed by wechatpy) into what the conversation service hears.

Text is text; images, voice, video, location, links and files get the polite "text only"
note; a follow (subscribe, with a QR scene naming a flow), a menu CLICK or a SCAN naming a
flow starts that flow; other events start nothing.
"""

from __future__ import annotations

from typing import Any

from bot.channel import Incoming
from flows.registry import FlowRegistry

CHANNEL = "wechat"
DEFAULT_FLOW = "nps"
"""The flow a plain follow (subscribe) starts."""
UNSUPPORTED_TYPES = ("image", "voice", "video", "shortvideo", "location", "link", "file")


def to_incoming(message: Any, registry: FlowRegistry) -> Incoming | None:
    """What the conversation service should hear, or None (answer "success")."""
    if message is None:
        raise ValueError("empty body")
    openid = str(message.source or "").strip()
    if not openid or message.type in ("", None):
        raise ValueError("no FromUserName or MsgType")
    if message.type in ("text", *UNSUPPORTED_TYPES) and not message.id:
        raise ValueError(f"a {message.type} message without MsgId")
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
