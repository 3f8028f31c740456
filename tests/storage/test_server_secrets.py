"""A generated secret is made once and then shared by everyone reading the database."""

from __future__ import annotations

import pytest

from storage.database import Sessions, transaction
from storage.server_secrets import shared_secret


@pytest.mark.backends("sqlite", "postgresql")
async def test_the_first_reader_makes_the_secret_and_later_ones_read_it(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        first = await shared_secret(session=session, name="secret_key")
    async with transaction(sessions) as session:
        again = await shared_secret(session=session, name="secret_key")
        other = await shared_secret(session=session, name="something_else")
    assert first == again and len(first) == 43
    assert other != first
