"""Localized texts: picking a language, filling `{variables}`, and the built-in bot texts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flows.model import Localized

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")

BUILTIN: dict[str, dict[str, str]] = {
    "scale_hint_plain": {
        "zh": "请回复 {low}-{high} 的数字",
        "en": "Reply with a number from {low} to {high}",
    },
    "scale_labels": {
        "zh": "{low} = {low_label} · {high} = {high_label}",
        "en": "{low} = {low_label} · {high} = {high_label}",
    },
    "reask_scale": {
        "zh": "抱歉，我没看懂。请回复 {low} 到 {high} 之间的一个数字，例如 {example}。",
        "en": "Sorry, I didn't get that. Please reply with a number from {low} to {high}, "
        "for example {example}.",
    },
    "reask_whole_number": {
        "zh": "请回复一个整数（不带小数），{low} 到 {high} 之间，例如 {example}。",
        "en": "Please reply with a whole number from {low} to {high} (no decimals), "
        "for example {example}.",
    },
    "escape_offer": {
        "zh": "如果不方便回答，可以回复“跳过”跳过这一题，或回复“人工”转人工客服。",
        "en": "If this question doesn't fit, reply “skip” to skip it, "
        "or “human” to talk to a person.",
    },
    "escape_skip": {"zh": "跳过此题", "en": "Skip question"},
    "escape_person": {"zh": "转人工", "en": "Ask a person"},
    "choice_hint": {"zh": "请回复选项前的数字：", "en": "Reply with the number of your choice:"},
    "reask_choice": {
        "zh": "抱歉，我没看懂。请点选一个选项，或回复它前面的数字。",
        "en": "Sorry, I didn't get that. Please tap an option or reply with its number.",
    },
    "reask_open": {"zh": "请用一句话告诉我们。", "en": "Please tell us in a few words."},
    "open_optional_hint": {"zh": "（回复“跳过”可跳过）", "en": "(reply “skip” to skip)"},
    "handoff": {
        "zh": "好的，正在为您转接人工客服，请稍候，同事会在这里回复您。",
        "en": "Sure, I'm bringing in a person from our team. They will reply here shortly.",
    },
    "alert_handoff": {
        "zh": "您反映的情况需要专人处理，我正在为您转接客服同事，同事会在这里回复您。",
        "en": "This needs a person from our team: I'm passing your conversation to a "
        "colleague, who will reply here.",
    },
    "closing_question": {
        "zh": "您的问题解决了吗？",
        "en": "Was your issue resolved?",
    },
    "closing_hint": {
        "zh": "请回复 1（已解决）或 2（未解决）",
        "en": "Reply 1 for yes or 2 for no",
    },
    "closing_yes": {"zh": "已解决", "en": "Yes"},
    "closing_no": {"zh": "未解决", "en": "No"},
    "closing_thanks_yes": {
        "zh": "太好了，感谢您的反馈！",
        "en": "Glad to hear it. Thank you for letting us know!",
    },
    "closing_thanks_no": {
        "zh": "抱歉没能解决您的问题，我们已记录下来，会继续改进。感谢您的反馈！",
        "en": "We're sorry it isn't resolved. We have noted it and will keep working on it. "
        "Thank you for telling us.",
    },
    "stopped": {
        "zh": "好的，本次调查已结束。感谢您抽出时间！",
        "en": "OK, this survey has ended. Thank you for your time!",
    },
}


def pick(text: Localized, language: str, default: str) -> str:
    """The text in `language`, else in the flow's default, else any."""
    if isinstance(text, str):
        return text
    return text.get(language) or text.get(default) or next(iter(text.values()), "")


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Replace `{name}` with its value; `{{`, `}}` are literal braces.

    A name without a value (an answer skipped or not given yet) becomes empty text: the
    customer never sees a raw `{placeholder}` (the loader already refuses unknown names).
    """

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole in ("{{", "}}"):
            return whole[0]
        value = values.get(match.group(1))
        return "" if value is None else str(value)

    return PLACEHOLDER.sub(replace, template)


def placeholders(template: str) -> list[str]:
    """The variable names a template uses."""
    return [m.group(1) for m in PLACEHOLDER.finditer(template) if m.group(1)]


def builtin(key: str, language: str, **values: Any) -> str:
    """A built-in bot text in `language` (English when that language has none)."""
    texts = BUILTIN[key]
    return fill(texts.get(language, texts["en"]), values)
