"""Password hashing with argon2-cffi (argon2id, its default parameters), off the event loop.

A hash takes ~0.1 s of CPU and 64 MiB, so every call runs in a worker thread. Checking a
sign-in for an unknown user verifies against a dummy hash, so it takes as long as a real
check (no timing hint that a name exists). A hash made with older parameters is replaced at
the next successful sign-in (`check` returns the new hash).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import weakref

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
"""The shortest password accepted."""
MAX_LENGTH = 1024
"""Longer input is refused before hashing (a megabyte password costs CPU, not security)."""

HASHER = PasswordHasher()
PARALLEL_HASHES = 4
"""At most this many hashes or checks run at once (each takes 64 MiB): a burst of sign-ins,
from many addresses, waits its turn instead of taking gigabytes."""
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _limiter() -> anyio.CapacityLimiter:
    """The running loop's limiter (one per loop: a limiter belongs to the loop it ran on)."""
    loop = asyncio.get_running_loop()
    found = _LIMITERS.get(loop)
    if found is None:
        found = _LIMITERS[loop] = anyio.CapacityLimiter(PARALLEL_HASHES)
    return found


@functools.cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return "short"
    if len(password) > MAX_LENGTH:
        return "long"
    return None


def hash_now(password: str) -> str:
    """The argon2id hash of `password` (blocking; for the CLI)."""
    return HASHER.hash(password)


async def hash_password(password: str) -> str:
    """The argon2id hash of `password`, made in a worker thread."""
    return await anyio.to_thread.run_sync(HASHER.hash, password, limiter=_limiter())


def _check(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    if len(password) > MAX_LENGTH:
        stored_hash, password = None, password[:MAX_LENGTH]  # never matches, same work
    try:
        HASHER.verify(stored_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if stored_hash is None:
        return False, None
    return True, (HASHER.hash(password) if HASHER.check_needs_rehash(stored_hash) else None)


async def check(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(whether `password` matches, a new hash to store when the old one is outdated);
    `stored_hash=None` (no such user) takes as long and is always False."""
    return await anyio.to_thread.run_sync(_check, stored_hash, password, limiter=_limiter())


def random_password() -> str:
    """A password for a generated account (the demo admin): 20 URL-safe characters."""
    return secrets.token_urlsafe(15)
