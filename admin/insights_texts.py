"""The insights page's texts in Chinese and English; `admin.i18n` merges them into its
catalogue, so the same both-languages test covers them."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "nav.insights": "洞察",
        "insights.title": "客户之声洞察",
        "insights.intro": "开放回答的主题与情绪：客户为什么这样打分。",
        "insights.analyzed": "本期已分析 {n} 条开放回答",
        "insights.by_model": "由模型 {name} 分析（失败时用离线分析）",
        "insights.by_fallback": "由离线分析器分析（未配置模型）",
        "insights.themes": "主题：频次与对 NPS 的影响",
        "insights.theme": "主题",
        "insights.answers": "回答数",
        "insights.share": "占全部回答",
        "insights.negative": "其中负面",
        "insights.detractor_share": "贬损者提及率",
        "insights.nps_citing": "提及者 NPS",
        "insights.nps_not": "未提及者 NPS",
        "insights.effect": "影响",
        "insights.themes.help": (
            "贬损者提及率：打 0–6 分的客户的回答中提及该主题的比例。"
            "影响：提及者 NPS 减去未提及者 NPS。点击主题查看具体回答。"
        ),
        "insights.none": "本期没有已分析的开放回答。",
        "insights.digest": "贬损者摘要：他们最常提到的主题",
        "insights.digest.count": "{n} 条贬损者回答",
        "insights.digest.none": "本期没有贬损者提到具体主题。",
        "insights.sentiment": "情绪走势",
        "insights.period": "日期",
        "insights.positive": "正面",
        "insights.neutral": "中性",
        "insights.negative_n": "负面",
        "insights.negative_share": "负面占比",
        "insights.usage": "语言模型用量",
        "insights.usage.model": "模型：{name}",
        "insights.usage.none": (
            "未配置模型（CXBOT_LLM_MODEL）：所有分析由离线分析器完成，不消耗 token。"
        ),
        "insights.usage.budget": "每日预算 {n} tokens（UTC）",
        "insights.usage.day": "日期（UTC）",
        "insights.usage.model_col": "模型",
        "insights.usage.tokens": "tokens（输入 + 输出）",
        "insights.usage.calls": "调用次数",
        "insights.usage.failures": "失败",
        "insights.usage.empty": "最近 14 天没有调用模型。",
        "insights.jobs": (
            "分析队列：等待 {pending} · 进行中 {working} · 完成 {done} · 失败 {failed}"
        ),
        "insights.theme_page": "主题：{theme}",
        "insights.theme_page.period": "{since} 至 {until}，{n} 条回答",
        "insights.back": "← 返回洞察",
        "insights.answer": "回答",
        "insights.sentiment_col": "情绪",
        "insights.when": "时间",
    },
    "en": {
        "nav.insights": "Insights",
        "insights.title": "Voice of the customer",
        "insights.intro": "Themes and sentiment of open answers: why customers score as they do.",
        "insights.analyzed": "{n} open answers analyzed in this period",
        "insights.by_model": "read by the model {name} (the offline analyzer when it fails)",
        "insights.by_fallback": "read by the offline analyzer (no model configured)",
        "insights.themes": "Themes: how often, and their effect on NPS",
        "insights.theme": "Theme",
        "insights.answers": "Answers",
        "insights.share": "Of all answers",
        "insights.negative": "Negative",
        "insights.detractor_share": "Detractors citing",
        "insights.nps_citing": "NPS citing",
        "insights.nps_not": "NPS not citing",
        "insights.effect": "Effect",
        "insights.themes.help": (
            "Detractors citing: the share of answers from customers who scored 0-6 "
            "that cite the theme. Effect: NPS of those citing it minus NPS of the others. "
            "Click a theme for the answers behind it."
        ),
        "insights.none": "No analyzed open answers in this period.",
        "insights.digest": "Detractor digest: what they raise most",
        "insights.digest.count": "{n} detractor answers",
        "insights.digest.none": "No detractor named a concrete theme in this period.",
        "insights.sentiment": "Sentiment over time",
        "insights.period": "Date",
        "insights.positive": "Positive",
        "insights.neutral": "Neutral",
        "insights.negative_n": "Negative",
        "insights.negative_share": "Negative share",
        "insights.usage": "Language model use",
        "insights.usage.model": "Model: {name}",
        "insights.usage.none": (
            "No model configured (CXBOT_LLM_MODEL): the offline analyzer reads every "
            "answer, no tokens are used."
        ),
        "insights.usage.budget": "daily budget {n} tokens (UTC)",
        "insights.usage.day": "Day (UTC)",
        "insights.usage.model_col": "Model",
        "insights.usage.tokens": "Tokens (prompt + completion)",
        "insights.usage.calls": "Calls",
        "insights.usage.failures": "Failed",
        "insights.usage.empty": "The model was not called in the last 14 days.",
        "insights.jobs": (
            "Analysis queue: waiting {pending} · working {working} · done {done} · failed {failed}"
        ),
        "insights.theme_page": "Theme: {theme}",
        "insights.theme_page.period": "{since} to {until}, {n} answers",
        "insights.back": "← Back to insights",
        "insights.answer": "Answer",
        "insights.sentiment_col": "Sentiment",
        "insights.when": "When",
    },
}
