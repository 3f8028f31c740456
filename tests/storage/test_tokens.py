"""The shared access-token row: one refresher at a time, leases that lapse, stale stores refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import tokens
from storage.database import Sessions, transaction
from tests.conftest import Clock

pytestmark = pytest.mark.backends("sqlite", "postgresql")


async def test_one_refresher_at_a_time_and_a_lapsed_lease_can_be_taken(
    sessions: Sessions, clock: Clock
) -> None:
    async def claim(owner: str) -> bool:
        async with transaction(sessions) as session:
            return await tokens.claim_refresh(
                session=session,
                platform="wechat",
                app_id="wx1",
                owner=owner,
                now=clock(),
                lease_until=clock() + timedelta(seconds=30),
            )

    async def store(owner: str, token: str) -> bool:
        async with transaction(sessions) as session:
            return await tokens.store_token(
                session=session,
                platform="wechat",
                app_id="wx1",
                owner=owner,
                access_token=token,
                expires_at=clock() + timedelta(hours=2),
                now=clock(),
            )

    assert await claim("a")
    assert not await claim("b")  # a holds a live lease
    clock.advance(seconds=31)
    assert await claim("b")  # a's lease lapsed (a crashed, or hangs)
    assert not await store("a", "OLD")  # a must not overwrite what b fetches
    assert await store("b", "NEW")
    async with transaction(sessions) as session:
        row = await tokens.get_token(session=session, platform="wechat", app_id="wx1")
        assert row is not None and (row.access_token, row.lease_owner) == ("NEW", None)
        await tokens.expire_token(
            session=session, platform="wechat", app_id="wx1", access_token="NEW", now=clock()
        )
    async with transaction(sessions) as session:
        row = await tokens.get_token(session=session, platform="wechat", app_id="wx1")
        assert row is not None and row.expires_at == tokens.NEVER
