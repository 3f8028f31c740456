"""The theme words page's texts in Chinese and English; `admin.i18n` merges them into its
catalogue, so the same both-languages test covers them."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "themes.title": "主题词库",
        "themes.link": "编辑主题词",
        "themes.intro": (
            "分析开放回答时，回答里出现某个主题的词，就归入该主题。"
            "默认主题和 CXBOT_THEMES_FILE 文件中的词在这里只读；管理员可以为主题添加词、"
            "修改中英文名称，或新建主题。"
        ),
        "themes.when": (
            "改动在下一批分析时生效（几秒内，所有进程，无需重启）。已经分析过的回答不会自动重算："
            "运行 {command} 重新分析。"
        ),
        "themes.read_only": "只有管理员可以修改主题词。",
        "themes.key": "主题键",
        "themes.label_zh": "中文名称",
        "themes.label_en": "英文名称",
        "themes.label.default": "留空使用默认名称：{label}",
        "themes.base_words": "内置词（{n} 个）",
        "themes.base_words.help": "以 ~ 开头的是弱词：仅当同一分句中没有其他主题的强词时才计入。",
        "themes.added_words": "管理员添加的词",
        "themes.added_words.none": "还没有添加的词。",
        "themes.added_by": "{who} 添加于 {when}",
        "themes.words": "要添加的词",
        "themes.words.help": "用逗号、顿号或换行分隔多个词；中文（简体或繁体）和英文均可。",
        "themes.add_words": "添加",
        "themes.remove_word": "删除",
        "themes.remove_word.label": "删除词：{word}",
        "themes.save_labels": "保存名称",
        "themes.edit_labels": "名称：{zh} / {en}（修改）",
        "themes.created": "管理员新建",
        "themes.remove_theme": "删除此主题",
        "themes.remove_theme.confirm": "删除主题 {theme} 及其所有词？已分析的回答仍保留该主题键。",
        "themes.new": "新建主题",
        "themes.new.key_help": "小写英文字母开头，可含数字和下划线，最多 32 个字符，如 warranty。",
        "themes.new.submit": "新建主题",
        "themes.done.words": "已为「{theme}」添加：{words}。",
        "themes.done.nothing": "「{theme}」已包含这些词，没有改动。",
        "themes.done.removed_word": "已从「{theme}」删除：{word}。",
        "themes.done.labels": "已保存「{theme}」的名称。",
        "themes.done.new": "已新建主题「{theme}」。",
        "themes.done.removed_theme": "已删除主题「{theme}」。",
        "themes.error.key": (
            "主题键须以小写英文字母开头，只含小写字母、数字和下划线，最多 32 个字符。"
        ),
        "themes.error.key_taken": "已有主题使用这个键：{key}。",
        "themes.error.words": "请至少填写一个词。",
        "themes.error.word": "词不能超过 {max} 个字符，也不能含控制字符或不可见字符：{word}",
        "themes.error.too_many": "一次最多添加 {max} 个词，每个主题最多 {total} 个添加的词。",
        "themes.error.label": "名称须为 1–{max} 个字符，不能含控制字符或不可见字符。",
        "themes.error.label_needed": "新建的主题需要中文和英文名称。",
        "themes.error.themes": "最多可以新建 {max} 个主题。",
        "themes.error.missing": "没有这个主题：{key}。",
        "themes.error.word_missing": "「{theme}」没有管理员添加的词：{word}。",
        "themes.error.not_created": "只有管理员新建的主题可以删除。",
    },
    "en": {
        "themes.title": "Theme words",
        "themes.link": "Edit theme words",
        "themes.intro": (
            "An open answer cites a theme when it holds one of the theme's words. The default "
            "themes and CXBOT_THEMES_FILE's words are read-only here; admins can add words to a "
            "theme, change its Chinese and English labels, or make new themes."
        ),
        "themes.when": (
            "Changes apply from the next analysis batch (within seconds, in every process, no "
            "restart). Answers analyzed already are not redone by themselves: run {command} "
            "to re-analyze them."
        ),
        "themes.read_only": "Only admins can change theme words.",
        "themes.key": "Theme key",
        "themes.label_zh": "Chinese label",
        "themes.label_en": "English label",
        "themes.label.default": "Leave empty for the default: {label}",
        "themes.base_words": "Built-in words ({n})",
        "themes.base_words.help": (
            "A word starting with ~ is weak: it counts only in a clause where no other theme's "
            "strong word appears."
        ),
        "themes.added_words": "Words added by admins",
        "themes.added_words.none": "No words added yet.",
        "themes.added_by": "added by {who} on {when}",
        "themes.words": "Words to add",
        "themes.words.help": (
            "Separate several words with commas or new lines; Chinese (simplified or "
            "traditional) and English alike."
        ),
        "themes.add_words": "Add",
        "themes.remove_word": "Remove",
        "themes.remove_word.label": "Remove the word {word}",
        "themes.save_labels": "Save labels",
        "themes.edit_labels": "Labels: {zh} / {en} (change)",
        "themes.created": "made by an admin",
        "themes.remove_theme": "Remove this theme",
        "themes.remove_theme.confirm": (
            "Remove the theme {theme} and all its words? Answers analyzed already keep its key."
        ),
        "themes.new": "New theme",
        "themes.new.key_help": (
            "Starts with a lower-case letter; letters, digits and _; at most 32 characters, "
            "e.g. warranty."
        ),
        "themes.new.submit": "Make the theme",
        "themes.done.words": "Added to “{theme}”: {words}.",
        "themes.done.nothing": "“{theme}” has these words already; nothing changed.",
        "themes.done.removed_word": "Removed from “{theme}”: {word}.",
        "themes.done.labels": "Labels of “{theme}” saved.",
        "themes.done.new": "Theme “{theme}” made.",
        "themes.done.removed_theme": "Theme “{theme}” removed.",
        "themes.error.key": (
            "A theme key starts with a lower-case letter and holds only lower-case letters, "
            "digits and _, at most 32 characters."
        ),
        "themes.error.key_taken": "A theme with this key exists already: {key}.",
        "themes.error.words": "Write at least one word.",
        "themes.error.word": (
            "A word has at most {max} characters and no control or invisible characters: {word}"
        ),
        "themes.error.too_many": (
            "At most {max} words at a time, and {total} added words per theme."
        ),
        "themes.error.label": (
            "A label has 1–{max} characters, with no control or invisible characters."
        ),
        "themes.error.label_needed": "A new theme needs a Chinese and an English label.",
        "themes.error.themes": "At most {max} themes can be made.",
        "themes.error.missing": "There is no theme {key}.",
        "themes.error.word_missing": "“{theme}” has no admin's word {word}.",
        "themes.error.not_created": "Only a theme an admin made can be removed.",
    },
}
