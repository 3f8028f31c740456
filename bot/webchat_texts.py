"""What the web chat pages themselves say (the flows say the rest), in zh and en.

The end of an interview is "本次调查已结束。" / "This survey has ended." everywhere a
customer reads it: customers take surveys; "interview" and metric names are our words.
"""

from __future__ import annotations

LANGUAGES = ["zh", "en"]
"""Languages every text here has; the first is the default."""

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "placeholder": "输入回复…",
        "send": "发送",
        "powered": "由 cxbot 提供",
        "error": "网络出错了，请重试。",
        "ended": "本次调查已结束。",
        "restart": "重新开始",
        "handed_off": "客服同事正在跟进您的对话，会在这里回复您。",
        "not_found_title": "找不到这份调查",
        "not_found": "这个链接可能不完整，或者调查已经结束。请检查链接，或联系发给您链接的商家。",
        "other_language": "English",
    },
    "en": {
        "placeholder": "Type your answer…",
        "send": "Send",
        "powered": "Powered by cxbot",
        "error": "Something went wrong. Please try again.",
        "ended": "This survey has ended.",
        "restart": "Start again",
        "handed_off": "A colleague is looking after your conversation and will reply here.",
        "not_found_title": "We can’t find this survey",
        "not_found": "The link may be incomplete, or the survey is over. Please check the "
        "link, or contact whoever sent it to you.",
        "other_language": "中文",
    },
}


def labels(language: str) -> dict[str, str]:
    """The page texts in `language` (English when there are none)."""
    return LABELS.get(language, LABELS["en"])
