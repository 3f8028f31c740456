"""What the bot says outside an interview: the welcome and the "text only, please" notes."""

from __future__ import annotations

import re
from datetime import datetime

from flows import language as languages
from flows import texts
from flows.model import Flow
from flows.registry import FlowRegistry
from flows.state import Outbound

UNSUPPORTED = {
    "zh": "抱歉，我只能读懂文字消息。请用文字回复。",
    "en": "Sorry, I can only read text messages. Please reply in words.",
}
WELCOME = {
    "zh": "您好！回复“{keyword}”即可参与我们的简短调查。",
    "en": "Hi! Reply “{keyword}” to take our short survey.",
}
SORRY = {
    "zh": "抱歉，系统出了点问题。我们已通知客服同事，会尽快在这里回复您。",
    "en": "Sorry, something went wrong on our side. A colleague has been told and will "
    "reply here soon.",
}
ANSWERED_RECENTLY = {
    "zh": "您最近已经参加过“{survey}”了，谢谢您！{date} 之后欢迎再来。",
    "en": "You took “{survey}” recently — thank you! You are welcome to take it again "
    "after {date}.",
}
QUIET = {
    "zh": "您好！目前没有进行中的调查。",
    "en": "Hi! There is no survey running right now.",
}


def written_in(text: str) -> str | None:
    """The language of a message, counting a lone Latin word ("feedback", "hi") as English."""
    detected = languages.detect(text) if text else None
    if detected is None and re.search(r"[A-Za-z]{2}", text) and not text.startswith("/"):
        return "en"
    return detected


def sorry(language: str) -> Outbound:
    """The apology after an internal error (never a traceback or an exception's text)."""
    return Outbound(SORRY.get(language, SORRY["en"]))


def unsupported(language: str) -> Outbound:
    """The polite answer to a sticker, photo or voice message."""
    return Outbound(UNSUPPORTED.get(language, UNSUPPORTED["en"]))


def welcome(registry: FlowRegistry, text: str, *hints: str | None) -> Outbound:
    """The answer to a message outside any interview: how to start one, in their language."""
    language = languages.choose(["zh", "en"], "zh", *hints, written_in(text))
    flows = sorted(registry.all(), key=lambda f: f.flow.id != "nps")  # nps first
    keywords = [k for f in flows for k in f.flow.start.keywords]
    if not keywords:
        return Outbound(QUIET[language])
    preferred = [k for k in keywords if (languages.detect(k) == "zh") == (language == "zh")]
    keyword = (preferred or keywords)[0]
    return Outbound(texts.fill(WELCOME[language], {"keyword": keyword}))


def answered_recently(flow: Flow, until: datetime, *hints: str | None) -> Outbound:
    """The polite answer to a restart within a flow's quiet period."""
    language = languages.choose(["zh", "en"], "zh", *hints)
    name = texts.pick(flow.name, language, flow.default_language)
    values = {"survey": name, "date": until.date().isoformat()}
    return Outbound(texts.fill(ANSWERED_RECENTLY[language], values))
