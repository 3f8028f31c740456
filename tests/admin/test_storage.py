"""The admin tables' queries on SQLite and PostgreSQL: users and the last admin, sessions,
tokens, and the sign-in counter that holds under concurrent writers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from storage import api_tokens, sign_in_attempts, users
from storage.database import Sessions, create_engine, create_sessions, transaction
from tests.conftest import START

pytestmark = pytest.mark.backends("sqlite", "postgresql")


async def test_the_counter_counts_every_concurrent_attempt_exactly_once(db_url: str) -> None:
    engines = [create_engine(db_url, timeout=10) for _ in range(4)]  # four "processes"
    try:
        factories = [create_sessions(engine) for engine in engines]

        async def attempt(sessions: Sessions) -> int:
            async with transaction(sessions) as session:
                return await sign_in_attempts.count_attempt(
                    session=session, subject="user:ann", window_start=START
                )

        counts = await asyncio.gather(*(attempt(factories[i % 4]) for i in range(100)))
        assert sorted(counts) == list(range(1, 101))
        async with transaction(factories[0]) as session:
            assert (
                await sign_in_attempts.attempts_since(
                    session=session, subject="user:ann", since=START
                )
                == 100
            )
            assert (
                await sign_in_attempts.attempts_since(
                    session=session, subject="user:ann", since=START + timedelta(seconds=1)
                )
                == 0
            )
            await sign_in_attempts.uncount_attempt(
                session=session, subject="user:ann", window_start=START
            )
            assert (
                await sign_in_attempts.attempts_since(
                    session=session, subject="user:ann", since=START
                )
                == 99
            )
            await sign_in_attempts.forget(session=session, subject="user:ann")
            assert (
                await sign_in_attempts.attempts_since(
                    session=session, subject="user:ann", since=START
                )
                == 0
            )
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_last_admin_cannot_be_demoted_or_removed(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        ann = await users.add_user(
            session=session, name="ann", role="admin", password_hash="x", now=START
        )
        bob = await users.add_user(
            session=session, name="bob", role="admin", password_hash="x", now=START
        )
        assert ann.id is not None and bob.id is not None
    async with transaction(sessions) as session:
        await users.set_role(session=session, user_id=bob.id, role="viewer")
    with pytest.raises(users.LastAdmin):
        async with transaction(sessions) as session:
            await users.set_role(session=session, user_id=ann.id, role="agent")
    with pytest.raises(users.LastAdmin):
        async with transaction(sessions) as session:
            await users.remove_user(session=session, user_id=ann.id)
    async with transaction(sessions) as session:
        assert [(u.name, u.role) for u in await users.list_users(session=session)] == [
            ("ann", "admin"),
            ("bob", "viewer"),
        ]
        assert await users.remove_user(session=session, user_id=bob.id) is not None
        assert await users.count_users(session=session) == 1


async def test_a_name_is_taken_once(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await users.add_user(
            session=session, name="ann", role="viewer", password_hash="x", now=START
        )
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            await users.add_user(
                session=session, name="ann", role="admin", password_hash="y", now=START
            )


async def test_a_session_lives_until_it_expires_or_ends(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        ann = await users.add_user(
            session=session, name="ann", role="viewer", password_hash="x", now=START
        )
        assert ann.id is not None
        for sid in ("a" * 64, "b" * 64):
            await users.start_session(
                session=session,
                session_hash=sid,
                user_id=ann.id,
                now=START,
                expires=START + timedelta(hours=1),
            )
    async with transaction(sessions) as session:
        found = await users.session_user(session=session, session_hash="a" * 64, now=START)
        assert found is not None and found[1].name == "ann"
        later = START + timedelta(hours=1)
        assert await users.session_user(session=session, session_hash="a" * 64, now=later) is None
        await users.end_session(session=session, session_hash="a" * 64)
        assert await users.session_user(session=session, session_hash="a" * 64, now=START) is None
        await users.set_password_hash(
            session=session, user_id=ann.id, password_hash="z", end_sessions=True
        )
        assert await users.session_user(session=session, session_hash="b" * 64, now=START) is None


async def test_a_revoked_token_is_no_longer_live(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        token = await api_tokens.add_token(
            session=session,
            name="bi",
            role="viewer",
            token_hash="h" * 64,
            prefix="cxb_abc",
            now=START,
        )
        assert token.id is not None
        assert await api_tokens.live_token(session=session, token_hash="h" * 64) is not None
        await api_tokens.revoke(session=session, token_id=token.id, now=START)
        assert await api_tokens.live_token(session=session, token_hash="h" * 64) is None
        assert [t.revoked_at for t in await api_tokens.list_tokens(session=session)] == [START]
        assert await api_tokens.revoke(session=session, token_id=999, now=START) is None
