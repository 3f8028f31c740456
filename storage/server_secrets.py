"""Server secrets generated once and shared by every app process (a row per name).

When no key is configured, the first process to start makes a random one and stores
it here; every other process, now or after a restart, reads the same row.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import utcnow


class ServerSecret(SQLModel, table=True):
    """A random secret the server made for itself."""

    __tablename__ = "server_secret"
    name: str = Field(primary_key=True, max_length=64)
    """What the secret is for, e.g. `secret_key`."""
    value: str = Field(max_length=128)
    """URL-safe random text (43 characters for 32 bytes)."""
    created_at: datetime = Field(default_factory=utcnow)


async def shared_secret(*, session: AsyncSession, name: str) -> str:
    """The stored secret called `name`, made (32 random bytes) and stored if there is none."""
    found = await session.get(ServerSecret, name)
    if found is not None:
        return found.value
    try:
        async with session.begin_nested():
            session.add(ServerSecret(name=name, value=secrets.token_urlsafe(32)))
    except IntegrityError:
        pass  # another process stored it just now: theirs wins
    stored = (await session.exec(select(ServerSecret).where(ServerSecret.name == name))).one()
    return stored.value
