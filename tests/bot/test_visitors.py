"""Signed visitor ids: only what this key issued comes back."""

from __future__ import annotations

import pytest

from bot.visitors import VisitorIds

KEY = b"k" * 16 + b"0123456789abcdef"


def test_an_issued_id_is_recognised_and_yields_its_random_part() -> None:
    ids = VisitorIds(KEY)
    token = ids.issue()
    visitor, _, signature = token.partition(".")
    assert len(visitor) == 32 and len(signature) == 43
    assert ids.verify(token) == visitor
    assert ids.issue() != token


def test_another_key_or_a_changed_part_is_refused() -> None:
    token = VisitorIds(KEY).issue()
    assert VisitorIds(b"x" * 32).verify(token) is None
    visitor, _, signature = token.partition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert VisitorIds(KEY).verify(f"{visitor}.{flipped}") is None
    assert VisitorIds(KEY).verify(visitor) is None
    assert VisitorIds(KEY).verify(None) is None


def test_a_short_key_or_no_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        VisitorIds().use_key(b"short")
    with pytest.raises(RuntimeError, match="no key yet"):
        VisitorIds().issue()
