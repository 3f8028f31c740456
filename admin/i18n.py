"""The admin pages' texts in Chinese and English, and which language a request gets.

Every text a person reads on an admin page comes from `TEXTS` (one dict per language, the
same keys in both: tests/admin/test_i18n.py checks it). Pages call `t("key")`; a text may
hold `{name}`-style fields filled by `t("key", name=...)`.

The language: `?lang=zh|en` (remembered in the `cxbot_lang` cookie), else the cookie, else
the browser's `Accept-Language`, else Chinese.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from admin import desk_texts, flow_texts, insights_texts, themes_texts, transcript_texts
from admin.loop_texts import LOOP_TEXTS

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT: Language = "zh"
COOKIE = "cxbot_lang"
"""Remembers the language a person picked (a year; not signed, it is only a preference)."""
COOKIE_SECONDS = 365 * 24 * 3600
LANGUAGE_NAMES: dict[Language, str] = {"zh": "中文", "en": "English"}

Translate = Callable[..., str]

TEXTS: dict[Language, dict[str, str]] = {
    "zh": {
        "app.name": "cxbot 管理后台",
        "nav.dashboard": "概览",
        "nav.conversations": "对话记录",
        "nav.escalations": "人工跟进",
        "nav.users": "用户",
        "nav.tokens": "API 令牌",
        "nav.menu": "菜单",
        "nav.signed_in_as": "当前用户：{name}（{role}）",
        "nav.sign_out": "退出登录",
        "nav.language": "语言",
        "role.viewer": "查看者",
        "role.agent": "客服",
        "role.admin": "管理员",
        "dashboard.title": "概览",
        "dashboard.filters": "筛选",
        "dashboard.from": "开始日期",
        "dashboard.to": "结束日期",
        "dashboard.flow": "问卷",
        "dashboard.touchpoint": "触点",
        "dashboard.journey_stage": "旅程阶段",
        "dashboard.channel": "渠道",
        "dashboard.language": "语言",
        "dashboard.interval": "趋势粒度",
        "dashboard.interval.week": "按周",
        "dashboard.interval.day": "按天",
        "dashboard.all": "全部",
        "dashboard.apply": "应用筛选",
        "dashboard.reset": "清除筛选",
        "dashboard.bad_filter": "筛选条件有误，已忽略：{fields}",
        "dashboard.empty.title": "暂无答卷",
        "dashboard.empty": (
            "当前筛选条件下还没有客户作答。调整筛选条件，或等客户完成几次访谈后再来看看。"
        ),
        "dashboard.nps": "净推荐值（NPS）",
        "dashboard.nps.margin": "± {margin}（95% 置信区间，n = {n}）",
        "dashboard.nps.groups": "推荐者 {promoters} · 被动者 {passives} · 贬损者 {detractors}",
        "dashboard.ces": "客户费力度（CES）",
        "dashboard.csat": "客户满意度（CSAT）",
        "dashboard.scale": "{low}–{high} 分制",
        "dashboard.mean": "平均 {mean}",
        "dashboard.agree": "认同（{low}–{high} 分）{share}%",
        "dashboard.top2": "满意（{low}–{high} 分）{share}%",
        "dashboard.n": "n = {n}",
        "dashboard.no_answers": "暂无",
        "dashboard.interviews": "访谈",
        "dashboard.started": "发起 {n}",
        "dashboard.response": "作答率",
        "dashboard.completion": "完成率",
        "dashboard.abandonment": "放弃率",
        "dashboard.count_of": "{part} / {whole}",
        "dashboard.slices": "分组对比",
        "dashboard.by_touchpoint": "按触点",
        "dashboard.by_channel": "按渠道",
        "dashboard.by_flow": "按问卷",
        "dashboard.by_language": "按语言",
        "dashboard.value": "分组",
        "dashboard.trends": "趋势",
        "dashboard.trend.nps": "NPS 趋势（阴影为 95% 置信区间）",
        "dashboard.trend.ces": "CES 认同比例趋势（%，阴影为 95% 置信区间）",
        "dashboard.trend.csat": "CSAT 满意比例趋势（%，阴影为 95% 置信区间）",
        "dashboard.band": "95% 置信区间",
        "dashboard.distribution": "评分分布",
        "dashboard.answers": "答卷数",
        "dashboard.score": "评分",
        "dashboard.promoters": "推荐者",
        "dashboard.passives": "被动者",
        "dashboard.detractors": "贬损者",
        "dashboard.others": "其他",
        "dashboard.agreeing": "认同/满意",
        "dashboard.week_of": "{day} 当周",
        "dashboard.margin_note": (
            "NPS 的误差范围采用调整 Wald 法（Rocks 2016）：样本量加 3，推荐者与贬损者各加 0.75。"
        ),
        "login.title": "登录",
        "login.name": "用户名",
        "login.password": "密码",
        "login.submit": "登录",
        "login.failed": "用户名或密码不正确。",
        "login.limited.title": "尝试次数过多",
        "login.limited": "登录失败次数过多，请在 {minutes} 分钟后再试。",
        "login.signed_out": "您已退出登录。",
        "login.expired": "您的登录已过期，请重新登录。",
        "error.forbidden.title": "无权访问",
        "error.forbidden": "您的角色（{role}）不能打开此页面，需要{needed}权限。",
        "error.csrf.title": "表单已过期",
        "error.csrf": "此表单已过期或来自其他页面。请返回、刷新页面后重试。",
        "error.back": "返回概览",
        "users.title": "用户",
        "users.name": "用户名",
        "users.role": "角色",
        "users.created": "创建时间",
        "users.actions": "操作",
        "users.you": "（您）",
        "users.add": "添加用户",
        "users.password": "密码（至少 {min} 个字符）",
        "users.add.submit": "添加",
        "users.change_role": "修改角色",
        "users.reset_password": "重置密码",
        "users.new_password": "新密码",
        "users.remove": "删除",
        "users.remove.confirm": "确定删除用户 {name}？",
        "users.added": "已添加用户 {name}。",
        "users.role_changed": "{name} 的角色已改为{role}。",
        "users.password_reset": "{name} 的密码已重置，其所有登录会话已结束。",
        "users.removed": "已删除用户 {name}。",
        "users.error.exists": "用户名 {name} 已存在。",
        "users.error.name": "用户名须为 1–64 个字符，不能含空格或控制字符。",
        "users.error.password": "密码至少需要 {min} 个字符。",
        "users.error.last_admin": "不能删除或降级最后一位管理员。",
        "users.error.missing": "该用户不存在。",
        "users.error.role": "请选择查看者、客服或管理员。",
        "tokens.title": "API 令牌",
        "tokens.intro": "集成方在请求 /api/v1/… 时发送 Authorization: Bearer <令牌>。",
        "tokens.name": "名称",
        "tokens.role": "角色",
        "tokens.prefix": "令牌开头",
        "tokens.created": "创建时间",
        "tokens.last_used": "最近使用",
        "tokens.never": "从未",
        "tokens.status": "状态",
        "tokens.active": "有效",
        "tokens.revoked": "已吊销",
        "tokens.create": "创建令牌",
        "tokens.create.submit": "创建",
        "tokens.created_once": "新令牌「{name}」如下，只显示这一次，请立即复制保存：",
        "tokens.revoke": "吊销",
        "tokens.revoke.confirm": "确定吊销令牌 {name}？使用它的集成将立即失效。",
        "tokens.revoked_done": "令牌 {name} 已吊销。",
        "tokens.none": "还没有令牌。",
        "tokens.error.name": "名称须为 1–64 个字符。",
        "tokens.legacy": "环境变量 CXBOT_API_TOKEN 已设置，它作为管理员令牌继续有效。",
    },
    "en": {
        "app.name": "cxbot admin",
        "nav.dashboard": "Dashboard",
        "nav.conversations": "Conversations",
        "nav.escalations": "Escalations",
        "nav.users": "Users",
        "nav.tokens": "API tokens",
        "nav.menu": "Menu",
        "nav.signed_in_as": "Signed in as {name} ({role})",
        "nav.sign_out": "Sign out",
        "nav.language": "Language",
        "role.viewer": "viewer",
        "role.agent": "agent",
        "role.admin": "admin",
        "dashboard.title": "Dashboard",
        "dashboard.filters": "Filters",
        "dashboard.from": "From",
        "dashboard.to": "To",
        "dashboard.flow": "Survey",
        "dashboard.touchpoint": "Touchpoint",
        "dashboard.journey_stage": "Journey stage",
        "dashboard.channel": "Channel",
        "dashboard.language": "Language",
        "dashboard.interval": "Trend by",
        "dashboard.interval.week": "Week",
        "dashboard.interval.day": "Day",
        "dashboard.all": "All",
        "dashboard.apply": "Apply",
        "dashboard.reset": "Clear filters",
        "dashboard.bad_filter": "Some filters were not understood and were ignored: {fields}",
        "dashboard.empty.title": "No answers yet",
        "dashboard.empty": (
            "No customer has answered with these filters. Change the filters,"
            " or come back after a few interviews."
        ),
        "dashboard.nps": "Net Promoter Score (NPS)",
        "dashboard.nps.margin": "± {margin} (95% confidence, n = {n})",
        "dashboard.nps.groups": (
            "Promoters {promoters} · Passives {passives} · Detractors {detractors}"
        ),
        "dashboard.ces": "Customer Effort Score (CES)",
        "dashboard.csat": "Customer satisfaction (CSAT)",
        "dashboard.scale": "{low}–{high} scale",
        "dashboard.mean": "mean {mean}",
        "dashboard.agree": "agree ({low}–{high}) {share}%",
        "dashboard.top2": "satisfied ({low}–{high}) {share}%",
        "dashboard.n": "n = {n}",
        "dashboard.no_answers": "none yet",
        "dashboard.interviews": "Interviews",
        "dashboard.started": "{n} started",
        "dashboard.response": "Response rate",
        "dashboard.completion": "Completion rate",
        "dashboard.abandonment": "Abandonment rate",
        "dashboard.count_of": "{part} of {whole}",
        "dashboard.slices": "Side by side",
        "dashboard.by_touchpoint": "By touchpoint",
        "dashboard.by_channel": "By channel",
        "dashboard.by_flow": "By survey",
        "dashboard.by_language": "By language",
        "dashboard.value": "Group",
        "dashboard.trends": "Trends",
        "dashboard.trend.nps": "NPS over time (band: 95% confidence interval)",
        "dashboard.trend.ces": "CES agreeing share over time (%, band: 95% confidence interval)",
        "dashboard.trend.csat": "CSAT satisfied share over time (%, band: 95% confidence interval)",
        "dashboard.band": "95% confidence interval",
        "dashboard.distribution": "Score distribution",
        "dashboard.answers": "Answers",
        "dashboard.score": "Score",
        "dashboard.promoters": "Promoters",
        "dashboard.passives": "Passives",
        "dashboard.detractors": "Detractors",
        "dashboard.others": "Others",
        "dashboard.agreeing": "Agreeing / satisfied",
        "dashboard.week_of": "week of {day}",
        "dashboard.margin_note": (
            "The NPS margin of error is the adjusted-Wald interval (Rocks "
            "2016): 3 added to n, 0.75 to promoters and to detractors."
        ),
        "login.title": "Sign in",
        "login.name": "User name",
        "login.password": "Password",
        "login.submit": "Sign in",
        "login.failed": "Wrong user name or password.",
        "login.limited.title": "Too many attempts",
        "login.limited": "Too many failed sign-ins. Try again in {minutes} minutes.",
        "login.signed_out": "You have signed out.",
        "login.expired": "Your session has ended; please sign in again.",
        "error.forbidden.title": "Not allowed",
        "error.forbidden": "Your role ({role}) cannot open this page; it needs {needed}.",
        "error.csrf.title": "Form expired",
        "error.csrf": "This form has expired or came from another page. "
        "Go back, reload the page and try again.",
        "error.back": "Back to the dashboard",
        "users.title": "Users",
        "users.name": "User name",
        "users.role": "Role",
        "users.created": "Created",
        "users.actions": "Actions",
        "users.you": "(you)",
        "users.add": "Add a user",
        "users.password": "Password (at least {min} characters)",
        "users.add.submit": "Add",
        "users.change_role": "Change role",
        "users.reset_password": "Reset password",
        "users.new_password": "New password",
        "users.remove": "Remove",
        "users.remove.confirm": "Remove the user {name}?",
        "users.added": "User {name} added.",
        "users.role_changed": "{name} is now {role}.",
        "users.password_reset": "{name}'s password was reset and their sessions ended.",
        "users.removed": "User {name} removed.",
        "users.error.exists": "There is already a user called {name}.",
        "users.error.name": "A user name has 1–64 characters, without spaces or control "
        "characters.",
        "users.error.password": "A password needs at least {min} characters.",
        "users.error.last_admin": "The last admin cannot be removed or demoted.",
        "users.error.missing": "There is no such user.",
        "users.error.role": "Pick viewer, agent or admin.",
        "tokens.title": "API tokens",
        "tokens.intro": "Integrations send Authorization: Bearer <token> with every "
        "/api/v1/… request.",
        "tokens.name": "Name",
        "tokens.role": "Role",
        "tokens.prefix": "Starts with",
        "tokens.created": "Created",
        "tokens.last_used": "Last used",
        "tokens.never": "never",
        "tokens.status": "Status",
        "tokens.active": "active",
        "tokens.revoked": "revoked",
        "tokens.create": "Create a token",
        "tokens.create.submit": "Create",
        "tokens.created_once": "The new token “{name}” is shown only this once; copy it now:",
        "tokens.revoke": "Revoke",
        "tokens.revoke.confirm": "Revoke the token {name}? Integrations using it stop "
        "working at once.",
        "tokens.revoked_done": "Token {name} revoked.",
        "tokens.none": "No tokens yet.",
        "tokens.error.name": "A name has 1–64 characters.",
        "tokens.legacy": "CXBOT_API_TOKEN is set: it keeps working as an admin token.",
    },
}
for _language, _texts in transcript_texts.TEXTS.items():  # the transcript pages' texts
    TEXTS[_language].update(_texts)  # type: ignore[index]

for _language in LANGUAGES:  # the agents' desk pages (admin/desk_texts.py)
    TEXTS[_language].update(desk_texts.TEXTS[_language])
for _language, _texts in LOOP_TEXTS.items():
    TEXTS[_language].update(_texts)  # type: ignore[index]
for _language in LANGUAGES:  # the flow studio (admin/flow_texts.py)
    TEXTS[_language].update(flow_texts.TEXTS[_language])
for _language, _texts in insights_texts.TEXTS.items():  # the insights page
    TEXTS[_language].update(_texts)  # type: ignore[index]
for _language, _texts in themes_texts.TEXTS.items():  # the theme words page
    TEXTS[_language].update(_texts)  # type: ignore[index]


def translator(language: Language) -> Translate:
    """`t(key, **fields)` for one language (a missing key shows as the key itself)."""
    texts = TEXTS[language]

    def t(key: str, /, **fields: object) -> str:
        text = texts.get(key, key)
        return text.format(**fields) if fields else text

    return t


def _supported(value: str | None) -> Language | None:
    if value is None:
        return None
    value = value.strip().lower()
    for language in LANGUAGES:
        if value == language or value.startswith(f"{language}-"):
            return language
    return None


def from_accept_language(header: str | None) -> Language | None:
    """The first language of ours in an `Accept-Language` header, by its q-value."""
    choices: list[tuple[float, int, Language]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.partition(";")
        language = _supported(tag)
        if language is None:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            choices.append((-quality, index, language))
    return min(choices)[2] if choices else None


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> Language:
    """The page's language: the query parameter, the cookie, the browser, else Chinese."""
    return (
        _supported(query) or _supported(cookie) or from_accept_language(accept_language) or DEFAULT
    )


def role_names(language: Language) -> Mapping[str, str]:
    """Role -> its name in `language`."""
    return {role: TEXTS[language][f"role.{role}"] for role in ("viewer", "agent", "admin")}
