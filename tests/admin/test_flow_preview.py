"""The studio's pure helpers: the line diff and the side-by-side texts."""

from __future__ import annotations

from pathlib import Path

from admin.flow_preview import DiffLine, diff, preview

NPS = (Path(__file__).parents[2] / "flows" / "builtin" / "nps.yaml").read_text("utf-8")


def test_the_diff_shows_each_change_with_three_lines_around_it() -> None:
    old = "\n".join(f"line {n}" for n in range(1, 21))
    new = old.replace("line 11", "line eleven")
    assert diff(old, new) == (
        DiffLine("skipped", None, None, "7"),
        *(DiffLine("same", n, n, f"line {n}") for n in (8, 9, 10)),
        DiffLine("removed", 11, None, "line 11"),
        DiffLine("added", None, 11, "line eleven"),
        *(DiffLine("same", n, n, f"line {n}") for n in (12, 13, 14)),
        DiffLine("skipped", None, None, "6"),
    )


def test_the_diff_of_equal_texts_is_empty_and_of_a_new_text_all_added() -> None:
    assert diff(NPS, NPS) == ()
    added = diff("", "a\nb")
    assert [(line.kind, line.new) for line in added] == [("added", 1), ("added", 2)]


def test_the_diff_counts_lines_moved_down_by_an_insertion() -> None:
    lines = diff("a\nb\nc", "a\nnew\nb\nc")
    assert DiffLine("added", None, 2, "new") in lines
    assert DiffLine("same", 2, 3, "b") in lines


def test_the_texts_side_by_side_flag_what_is_missing_and_where() -> None:
    half = NPS.replace("      en: Sorry we let you down. What went wrong?\n", "")
    found = preview(half)
    assert not found.version  # a missing translation is an error …
    row = next(r for r in found.texts if r.where == "step 'why_low', text")
    assert row.missing == ("en",)  # … and flagged in its row
    assert row.texts == {"zh": "很抱歉让您失望了。最让您不满意的是什么？"}
    assert half.splitlines()[row.line - 1].strip() == "text:"
    assert all(not r.missing for r in found.texts if r is not row)
    assert found.diagrams["zh"].startswith("flowchart TD")
