"""Admin users and their server-side sessions: keyword-only queries taking a session.

Roles are checked by the callers (`admin.access`); here, only the rule that needs the
database: the last admin is never removed or demoted (`LastAdmin`), checked with the admin
rows locked so two admins demoting each other at once cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AdminSession, AdminUser


class LastAdmin(Exception):
    """The change would leave no admin who can sign in."""


async def add_user(
    *, session: AsyncSession, name: str, role: str, password_hash: str, now: datetime
) -> AdminUser:
    """Store a new user (IntegrityError when the name is taken)."""
    user = AdminUser(name=name, role=role, password_hash=password_hash, created_at=now)
    session.add(user)
    await session.flush()
    return user


async def user_named(*, session: AsyncSession, name: str) -> AdminUser | None:
    """The user called `name`, if any."""
    return (await session.exec(select(AdminUser).where(AdminUser.name == name))).first()


async def list_users(*, session: AsyncSession) -> Sequence[AdminUser]:
    """Every user, by name."""
    return (await session.exec(select(AdminUser).order_by(col(AdminUser.name)))).all()


async def count_users(*, session: AsyncSession) -> int:
    """How many users there are (0 on a fresh install)."""
    return int((await session.exec(select(func.count()).select_from(AdminUser))).one())


async def _other_admins(*, session: AsyncSession, user_id: int) -> int:
    """Admins besides `user_id` who can sign in, with every admin row locked (PostgreSQL)."""
    admins = await session.exec(
        select(AdminUser.id, AdminUser.disabled).where(AdminUser.role == "admin").with_for_update()
    )
    return sum(1 for found_id, disabled in admins.all() if found_id != user_id and not disabled)


async def set_role(*, session: AsyncSession, user_id: int, role: str) -> AdminUser | None:
    """Change a user's role (LastAdmin when it would demote the last admin)."""
    user = await session.get(AdminUser, user_id)
    if user is None:
        return None
    if (
        user.role == "admin"
        and role != "admin"
        and not await _other_admins(session=session, user_id=user_id)
    ):
        raise LastAdmin
    user.role = role
    session.add(user)
    return user


async def set_password_hash(
    *, session: AsyncSession, user_id: int, password_hash: str, end_sessions: bool
) -> AdminUser | None:
    """Store a new hash; `end_sessions` signs the user out everywhere (a reset)."""
    user = await session.get(AdminUser, user_id)
    if user is None:
        return None
    user.password_hash = password_hash
    session.add(user)
    if end_sessions:
        await session.exec(delete(AdminSession).where(col(AdminSession.user_id) == user_id))
    return user


async def remove_user(*, session: AsyncSession, user_id: int) -> AdminUser | None:
    """Delete a user and their sessions (LastAdmin for the last admin)."""
    user = await session.get(AdminUser, user_id)
    if user is None:
        return None
    if user.role == "admin" and not await _other_admins(session=session, user_id=user_id):
        raise LastAdmin
    await session.exec(delete(AdminSession).where(col(AdminSession.user_id) == user_id))
    await session.delete(user)
    return user


async def start_session(
    *, session: AsyncSession, session_hash: str, user_id: int, now: datetime, expires: datetime
) -> None:
    """Record a new signed-in session (the id is the SHA-256 of the cookie's random id)."""
    session.add(
        AdminSession(
            id=session_hash, user_id=user_id, created_at=now, last_seen_at=now, expires_at=expires
        )
    )


async def session_user(
    *, session: AsyncSession, session_hash: str, now: datetime
) -> tuple[AdminSession, AdminUser] | None:
    """The live session with this hash and its user (None when ended, expired or the user
    is disabled or gone)."""
    found = await session.exec(
        select(AdminSession, AdminUser)
        .join(AdminUser, col(AdminUser.id) == col(AdminSession.user_id))
        .where(AdminSession.id == session_hash)
        .where(col(AdminSession.expires_at) > now)
        .where(col(AdminUser.disabled).is_(False))
    )
    row = found.first()
    return None if row is None else (row[0], row[1])


async def touch_session(*, session: AsyncSession, session_hash: str, now: datetime) -> None:
    """Note that the session was used now."""
    await session.exec(
        update(AdminSession).where(col(AdminSession.id) == session_hash).values(last_seen_at=now)
    )


async def end_session(*, session: AsyncSession, session_hash: str) -> None:
    """Sign a session out (its cookie stops working)."""
    await session.exec(delete(AdminSession).where(col(AdminSession.id) == session_hash))


async def purge_sessions(*, session: AsyncSession, now: datetime) -> int:
    """Delete expired sessions; how many."""
    done = await session.exec(delete(AdminSession).where(col(AdminSession.expires_at) <= now))
    return int(done.rowcount or 0)
