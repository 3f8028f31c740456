"""Password hashing: argon2id with argon2-cffi's defaults, checks in a worker thread, the
same work for an unknown user, and outdated hashes replaced."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher

from admin import passwords

DEFAULT = passwords.HASHER  # captured before tests/admin/conftest.py lightens it


async def test_the_default_is_argon2id_with_the_library_s_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(passwords, "HASHER", DEFAULT)
    stored = await passwords.hash_password("a good password")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await passwords.check(stored, "a good password") == (True, None)


async def test_right_wrong_unknown_and_garbage() -> None:
    stored = await passwords.hash_password("a good password")
    assert await passwords.check(stored, "a good password") == (True, None)
    assert await passwords.check(stored, "a good passwore") == (False, None)
    assert await passwords.check(None, "a good password") == (False, None)
    assert await passwords.check("not a hash", "a good password") == (False, None)
    assert await passwords.check(stored, "a good password" + "x" * 2000) == (False, None)


async def test_an_unknown_user_costs_a_real_verification_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, bool]] = []
    real = passwords.HASHER

    class Watching(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            on_loop = threading.current_thread() is threading.main_thread()
            seen.append((str(hash)[:9], on_loop))
            return real.verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Watching(time_cost=1, memory_cost=1024, parallelism=1))
    passwords._dummy_hash.cache_clear()
    await passwords.check(None, "whatever it is")
    await passwords.check(await passwords.hash_password("a good password"), "wrong one")
    assert seen == [("$argon2id", False), ("$argon2id", False)]


async def test_an_outdated_hash_gets_a_new_one() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("a good password")
    ok, new = await passwords.check(old, "a good password")
    assert ok and new is not None and new != old
    assert await passwords.check(new, "a good password") == (True, None)


def test_new_passwords_need_ten_characters() -> None:
    assert passwords.problem("123456789") == "short"
    assert passwords.problem("1234567890") is None
    assert passwords.problem("x" * 1025) == "long"
    assert len(passwords.random_password()) == 20


async def test_parallel_sign_ins_hash_a_few_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each argon2 call takes 64 MiB: forty sign-ins at once (anyio's default thread count,
    and the per-address limit counts nothing across many IPv6 addresses) took 2.5 GiB."""
    import time

    import anyio

    lock = threading.Lock()
    running = most = 0

    class Slow:
        def verify(self, _hash: str, _password: str) -> bool:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)
            with lock:
                running -= 1
            return True

        def check_needs_rehash(self, _hash: str) -> bool:
            return False

        def hash(self, _password: str) -> str:
            self.verify("", "")
            return "hash"

    monkeypatch.setattr(passwords, "HASHER", Slow())
    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(passwords.check, "stored", "guess")
            group.start_soon(passwords.hash_password, "a new one")
    assert 1 <= most <= passwords.PARALLEL_HASHES, most
