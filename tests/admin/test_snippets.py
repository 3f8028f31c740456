"""The search snippet: long customer texts cost a lookup per character, not a normalization
(the snippet runs on the event loop, for every row of a search page)."""

from __future__ import annotations

import pytest

from admin import snippets
from storage import terms


def forget_folds() -> None:
    """Start from an empty per-character cache."""
    cached = getattr(snippets, "fold_char", None)
    if cached is not None:
        cached.cache_clear()


def test_a_long_text_is_normalized_once_per_distinct_character(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    real = terms.normalize

    def counting(text: str) -> str:
        nonlocal calls
        calls += 1
        return real(text)

    monkeypatch.setattr(snippets, "normalize", counting)
    forget_folds()
    filler = "这是一段很长的文字，用来拖慢搜索。Delivery was slow. " * 60  # ~2,000 characters
    parts = snippets.snippet([filler] * 20 + ["物流太慢了"], "物流")
    assert ("物流", True) in parts
    distinct = len(set(filler + "物流太慢了"))
    assert calls <= distinct + 10, calls  # was one call per character: ~40,000


def test_the_highlight_still_maps_to_the_original_text() -> None:
    forget_folds()
    parts = snippets.snippet(["ＡＢＣ物流㎏ DELIVERY"], "delivery 物流")
    assert [p for p, marked in parts if marked] == ["物流", "DELIVERY"]
