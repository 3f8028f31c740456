"""The offline text analyzer, behaviour by behaviour (the evaluation set is measured by
benchmarks/text_accuracy.py, not here)."""

from __future__ import annotations

import ast
from pathlib import Path
from time import perf_counter

import pytest

from flows.analysis import (
    DEFAULT_THEMES,
    SENTIMENTS,
    TextAnalysis,
    ThemeBook,
    ThemeBookError,
    analyze,
    default_book,
    is_vague,
)

ANALYSIS_DIR = Path(__file__).parent.parent.parent / "flows" / "analysis"


def themes(text: str) -> tuple[str, ...]:
    return analyze(text).themes


def sentiment(text: str) -> str:
    return analyze(text).sentiment


def test_the_default_book_has_the_nine_themes_with_both_labels() -> None:
    assert default_book().keys() == (
        "delivery", "price", "staff", "quality", "wait", "resolution", "refund", "app", "process"
    )  # fmt: skip
    assert DEFAULT_THEMES[0].label("zh") == "物流配送"
    assert DEFAULT_THEMES[0].label("en") == "Delivery"
    assert all(theme.label_zh and theme.label_en and theme.words for theme in DEFAULT_THEMES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("快递太慢了", ("delivery",)),
        ("价格有点贵", ("price",)),
        ("客服态度很差", ("staff",)),
        ("用了两天就坏了，质量太差", ("quality",)),
        ("排队排了一个小时", ("wait",)),
        ("问题一直没解决", ("resolution",)),
        ("退款还没到账", ("refund",)),
        ("小程序老是闪退", ("app",)),
        ("手续太繁琐，要填好多表", ("process",)),
    ],
)
def test_each_theme_is_found_in_a_plain_chinese_answer(text: str, expected: tuple[str]) -> None:
    assert themes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("價格便宜，品質也很好，就是出貨慢了點", ("delivery", "price", "quality")),
        ("客服態度好差，退款搞咗成個月都未搞掂", ("staff", "resolution", "refund")),
        ("the agent was rude and the app keeps crashing", ("staff", "app")),
        ("物流 fast，但是 price 太 high", ("delivery", "price")),
    ],
)
def test_an_answer_may_cite_several_themes_in_any_script(
    text: str, expected: tuple[str, ...]
) -> None:
    assert themes(text) == expected


@pytest.mark.parametrize(
    "text", ["一般般", "还行吧", "bad", "meh", "不好", "挺好的", "no comment", ""]
)
def test_an_answer_without_a_concrete_topic_has_no_theme(text: str) -> None:
    assert themes(text) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("没问题，很满意", ()),  # an idiom: 没问题 is not about a problem to resolve
        ("customer service was great", ("staff",)),  # the phrase, not "service" + "customer"
        ("got my money back quickly", ("refund",)),  # money back is a refund, not a price
        ("shipping cost is too high", ("price",)),  # a fee is a price, even for shipping
        ("等了一个星期快递才到", ("delivery",)),  # the wait is the delivery's
        ("性价比很高", ("price",)),
    ],
)
def test_longest_words_and_idioms_decide_the_theme(text: str, expected: tuple[str, ...]) -> None:
    assert themes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("送货不慢", "positive"),
        ("价格不贵", "positive"),
        ("效果没有广告说的好", "negative"),
        ("不是特别满意", "negative"),
        ("没有什么不满意的地方", "positive"),  # two negators cancel
        ("not bad at all", "positive"),
        ("not great", "negative"),
        ("the staff were not helpful", "negative"),
        ("didnt take long at all", "positive"),
        ("唔係幾好", "negative"),
        ("冇問題", "positive"),
        ("退款还没到账", "negative"),  # what should have happened did not
        ("my refund never came through", "negative"),
    ],
)
def test_negation_flips_the_words_in_its_scope(text: str, expected: str) -> None:
    assert sentiment(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("东西不错，就是太贵了", "negative"),  # what follows 就是 outweighs
        ("有点贵，但是质量确实好", "positive"),
        ("东西好用，价格也实惠，就是包装简陋了点", "positive"),  # a minor complaint
        ("虽然贵，但是好用", "positive"),
        ("a bit expensive but totally worth it", "positive"),
        ("the staff were lovely, but the food was awful", "negative"),
        ("希望发货能快一点", "neutral"),  # a wish, not praise
        ("would be nice to have more colours", "neutral"),
    ],
)
def test_contrast_concession_and_wishes_weigh_clauses(text: str, expected: str) -> None:
    assert sentiment(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("价格偏高", "negative"),
        ("质量很高", "positive"),
        ("prices are high", "negative"),
        ("high quality materials", "positive"),
        ("等待时间太长", "negative"),
    ],
)
def test_high_and_long_take_their_sign_from_the_clause(text: str, expected: str) -> None:
    assert sentiment(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "真是神速啊，才等了半个月就到了",
        "呵呵，客服真专业，问了三遍都答不上来",
        "好一个“次日达”，五天才到",
        "oh great, another week without my refund",
        "wow, only took them two months to reply. amazing.",
        "yeah thanks for nothing",
    ],
)
def test_catchable_sarcasm_reads_negative(text: str) -> None:
    assert sentiment(text) == "negative"


@pytest.mark.parametrize(
    "text", ["wow, amazing service!", "客服真专业，一次就解决了", "oh great app, love it"]
)
def test_praise_without_a_hardship_stays_praise(text: str) -> None:
    assert sentiment(text) == "positive"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("delivry was late", (("delivery",), "negative")),
        ("custmer servise was awsome", (("staff",), "positive")),
        ("prices r way too high", (("price",), "negative")),
        ("the app is sooo buggy", (("app",), "negative")),
        ("shiping was fast thx", (("delivery",), "positive")),
    ],
)
def test_english_typos_and_chat_spelling_are_understood(
    text: str, expected: tuple[tuple[str, ...], str]
) -> None:
    result = analyze(text)
    assert (result.themes, result.sentiment) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("軟體一直當機", (("app",), "negative")),  # Taiwan phrasing: 軟體 = 软件, 當機 = 死机
        ("網站操作很直覺", (("app",), "positive")),
        ("啲店員好有耐性", (("staff",), "positive")),  # Cantonese: 好 as "very"
        ("價錢幾抵", (("price",), "positive")),  # Cantonese: 抵 = good value
        ("件衫著咗一次就爛咗", (("quality",), "negative")),
    ],
)
def test_traditional_chinese_and_cantonese_read_like_simplified(
    text: str, expected: tuple[tuple[str, ...], str]
) -> None:
    result = analyze(text)
    assert (result.themes, result.sentiment) == expected


@pytest.mark.parametrize("text", ["一般般", "还行吧", "不好", "bad", "meh", "ok", "很好", "", "  "])
def test_a_bare_verdict_is_vague(text: str) -> None:
    assert is_vague(text)


@pytest.mark.parametrize(
    "text",
    ["快递太慢了", "the agent never called me back", "退款两周了还没到账，客服也不回消息"],
)
def test_an_answer_with_a_topic_is_not_vague(text: str) -> None:
    assert not is_vague(text)


def test_lukewarm_verdicts_are_neutral_and_strong_ones_are_not() -> None:
    assert [sentiment(t) for t in ("一般般", "so-so", "麻麻哋", "还可以")] == ["neutral"] * 4
    assert [sentiment(t) for t in ("垃圾", "terrible", "非常满意", "love it")] == [
        "negative", "negative", "positive", "positive"
    ]  # fmt: skip


def test_the_result_is_a_frozen_value_and_the_same_every_time() -> None:
    first = analyze("快递很快，客服态度也好")
    assert first == analyze("快递很快，客服态度也好")
    assert isinstance(first, TextAnalysis) and first.sentiment in SENTIMENTS
    with pytest.raises(AttributeError):
        first.sentiment = "negative"  # type: ignore[misc]


def test_an_admin_adds_words_to_a_theme_and_a_new_theme_without_code() -> None:
    book = default_book().extended(
        {
            "delivery": {"words": ["菜鸟驿站"]},
            "warranty": {"label_zh": "保修", "label_en": "Warranty", "words": ["保修", "warranty"]},
        }
    )
    assert book.keys()[-1] == "warranty" and book.get("warranty") is not None
    assert analyze("菜鸟驿站不给取件", book).themes == ("delivery",)
    assert analyze("保修期太短了", book).themes == ("warranty",)
    assert analyze("the warranty claim was easy", book).themes == ("warranty",)
    assert analyze("保修期太短了").themes == ()  # the default book is untouched
    assert default_book().get("warranty") is None


def test_a_book_made_only_of_data() -> None:
    book = ThemeBook.from_data({"parking": {"label_zh": "停车", "label_en": "Parking",
                                            "words": ["停车", "parking"]}})  # fmt: skip
    assert book.keys() == ("parking",)
    assert analyze("停车太难了，快递也慢", book).themes == ("parking",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"Delivery!": {"words": ["x"]}}, "key is lower-case"),
        ({"delivery": ["顺丰"]}, "expected a mapping"),
        ({"delivery": {"words": "顺丰"}}, "`words` must be a list"),
        ({"delivery": {"words": [""]}}, "`words` must be a list"),
        ({"delivery": {"wrods": ["顺丰"]}}, "unknown field(s) wrods"),
        ({"warranty": {"words": ["保修"]}}, "needs `label_zh` and `label_en`"),
        ({"delivery": {"label_en": 3}}, "`label_en` must be a non-empty text"),
    ],
)
def test_malformed_theme_data_is_refused_with_the_reason(data: dict, message: str) -> None:
    with pytest.raises(ThemeBookError, match=message.replace("(", r"\(").replace(")", r"\)")):
        default_book().extended(data)


IMPURE = {"sqlalchemy", "sqlmodel", "fastapi", "telegram", "wechatpy", "storage", "bot", "cxbot"}
IMPURE |= {"openai", "httpx", "requests", "aiohttp", "socket", "subprocess", "os", "time"}


@pytest.mark.parametrize("path", sorted(ANALYSIS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_the_analysis_package_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported & IMPURE == set()
    assert imported <= {"__future__", "flows", "jieba", "opencc", "spellchecker", "vaderSentiment",
                        "importlib", "itertools", "re", "unicodedata", "logging",
                        "threading", "warnings", "collections", "dataclasses", "functools",
                        "typing"}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("👍", "positive"),
        ("又坏了😡", "negative"),
        ("收到了 :(", "negative"),
        ("ok :)", "positive"),
        ("😐", "neutral"),
    ],
)
def test_emoji_and_faces_carry_sentiment(text: str, expected: str) -> None:
    assert sentiment(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("运费居然要三十块", "negative"),  # a fact told with 居然 is a complaint
        ("软件老是自动退出", "negative"),
        ("一进门立刻有人招呼", "positive"),
        ("比网上贵了快两百", "negative"),  # 快 before a number is "almost", not "fast"
        ("客服回得很快，可惜没解决问题", "negative"),  # 解决问题 still says 解决
        ("the fees went up again", "negative"),
        ("the courier crushed the box", "negative"),  # crushed is a word, not "crashed"
        ("i never heard back from them", "negative"),  # heard is not "hard"
    ],
)
def test_facts_told_with_frustration_or_promptness(text: str, expected: str) -> None:
    assert sentiment(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("好吃极了", "positive"),  # an intensifier after its word
        ("烦死了", "negative"),
        ("the agent handled it professionally", "positive"),  # professional + ly
        ("arrived faster than i expected", "positive"),  # fast + er
        ("the screen keeps freezing", "negative"),
    ],
)
def test_intensifiers_after_the_word_and_english_inflections(text: str, expected: str) -> None:
    assert sentiment(text) == expected


def test_a_topic_told_without_any_verdict_reads_as_a_complaint_but_a_question_does_not() -> None:
    assert analyze("快递员把包裹放在了楼下").sentiment == "negative"
    assert analyze("the buttons moved to the bottom of the page").sentiment == "negative"
    assert analyze("请问运费怎么算？").sentiment == "neutral"
    assert analyze("how do i change my delivery address?").sentiment == "neutral"
    assert analyze("一般般").sentiment == "neutral"  # no topic: a lukewarm verdict stays neutral


def test_a_long_text_is_read_quickly_and_only_its_start() -> None:
    analyze("warm 热身")
    started = perf_counter()
    words = " ".join(f"qz{i}xv" for i in range(3000))  # unknown words: typo lookups for each
    assert analyze(words).sentiment == "neutral"
    assert analyze("快递很慢。" * 3000).themes == ("delivery",)
    assert perf_counter() - started < 2.0
