"""Transcript search: Chinese substrings of 1, 2 and 3+ characters, English words in any case,
mixed queries, full-width forms; what must not match does not. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.conversation_list import ConversationFilters, list_conversations
from storage.database import Sessions, reading
from storage.migrations import upgrade
from storage.terms import query_terms, terms_of
from tests.admin.transcript_data import Interview, store
from tests.conftest import Customer

pytestmark = pytest.mark.backends("sqlite", "postgresql")


async def found(sessions: Sessions, query: str, **filters: object) -> list[int]:
    """The ids the list shows for a search, newest first."""
    async with reading(sessions) as session:
        page = await list_conversations(
            session=session,
            filters=ConversationFilters(text=query, **filters),  # type: ignore[arg-type]
            limit=100,
        )
        return [row.conversation.id or 0 for row in page.items]


def test_terms_are_cjk_characters_and_pairs_and_folded_words() -> None:
    assert terms_of("物流太慢, Delivery LATE!") == {
        "物",
        "流",
        "太",
        "慢",
        "物流",
        "流太",
        "太慢",
        "delivery",
        "late",
    }
    assert terms_of("ＡＢＣ１２３") == {"abc123"}  # full-width letters and digits (NFKC)
    assert query_terms("物流太") == ("物流", "流太")
    assert query_terms("慢") == ("慢",)
    assert query_terms("  ,.!? ") == ()


async def test_the_service_indexes_what_the_customer_wrote(
    customer: Customer, sessions: Sessions
) -> None:
    """The real write path (the conversation service) fills the index in its transaction."""
    await customer.starts("nps", language="zh")
    await customer.says("3")
    await customer.says("物流太慢了，包装也破了")
    [conversation] = await found(sessions, "物流")
    assert await found(sessions, "太慢") == [conversation]
    assert await found(sessions, "物流太慢") == [conversation]
    assert await found(sessions, "包装") == [conversation]
    assert await found(sessions, "慢") == [conversation]
    assert await found(sessions, "物慢") == []  # both characters are there, not side by side
    assert await found(sessions, "快递") == []


async def test_chinese_english_and_mixed_queries(sessions: Sessions) -> None:
    slow = await store(sessions, Interview(score=3, comment="物流太慢 delivery was LATE"))
    kind = await store(sessions, Interview(score=10, comment="客服态度很好, Great service"))
    both = await store(
        sessions, Interview(score=6, said=["物流一般"], comment="The service was late")
    )
    assert await found(sessions, "物流") == [both, slow]
    assert await found(sessions, "物流太慢") == [slow]
    assert await found(sessions, "态度很好") == [kind]
    assert await found(sessions, "late") == [both, slow]
    assert await found(sessions, "LATE") == [both, slow]
    assert await found(sessions, "Ｌａｔｅ") == [both, slow]  # full-width query
    assert await found(sessions, "service") == [both, kind]
    assert await found(sessions, "物流 late") == [both, slow]
    assert await found(sessions, "物流 service") == [both]
    assert await found(sessions, "lat") == []  # whole words, not prefixes
    assert await found(sessions, "态度 late") == []
    assert await found(sessions, "!!!") == []
    assert await found(sessions, "物流", band="detractor") == [both, slow]
    assert await found(sessions, "service", band="promoter") == [kind]


async def test_traditional_and_simplified_chinese_find_each_other(sessions: Sessions) -> None:
    taipei = await store(sessions, Interview(score=9, comment="客服態度很好，價格合理"))
    beijing = await store(sessions, Interview(score=8, comment="客服态度一般，价格偏高"))
    assert await found(sessions, "态度") == [beijing, taipei]
    assert await found(sessions, "態度") == [beijing, taipei]
    assert await found(sessions, "價格合理") == [taipei]
    assert await found(sessions, "价格偏高") == [beijing]


async def test_the_bots_own_words_are_not_searched(sessions: Sessions) -> None:
    await store(sessions, Interview(score=9, comment="还行"))
    assert await found(sessions, "推荐") == []  # only in the bot's question


@pytest.mark.backends("sqlite", "postgresql")
async def test_migration_0010_indexes_what_was_stored_before(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0007")
    from sqlalchemy import create_engine

    from storage.database import sync_url

    engine = create_engine(sync_url(empty_db_url))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customer (id, channel, external_id, created_at) "
                "VALUES (1, 'web', 'v1', '2026-03-02 09:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO conversation (id, customer_id, channel, flow_id, flow_version, "
                "touchpoint, journey_stage, language, status, state, started_at, updated_at) "
                "VALUES (7, 1, 'web', 'nps', '1', 't', 'j', 'zh', 'completed', '{}', "
                "'2026-03-02 09:00:00', '2026-03-02 09:00:00')"
            )
        )
        for number, (direction, author, body) in enumerate(
            [("in", "customer", "物流太慢"), ("out", "bot", "谢谢反馈"), ("in", "system", "api")]
        ):
            connection.execute(
                text(
                    "INSERT INTO message (customer_id, conversation_id, channel, direction, "
                    "author, text, payload, delivery_state, attempts, created_at) VALUES "
                    "(1, 7, 'web', :direction, :author, :body, '{}', 'sent', 0, "
                    "'2026-03-02 09:00:00')"
                ),
                {"direction": direction, "author": author, "body": body + str(number)},
            )
    upgrade(empty_db_url)
    with engine.connect() as connection:
        terms = {row[0] for row in connection.execute(text("SELECT term FROM search_term"))}
    engine.dispose()
    assert {"物流", "太慢", "慢"} <= terms
    assert "谢谢" not in terms and "api2" not in terms
