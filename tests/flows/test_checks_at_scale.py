"""Hostile or huge flow files: a clear `file:line:col` error or a pass, never a traceback,
and checking that grows linearly with the flow."""

from __future__ import annotations

from typing import Any

import pytest

from flows import checks
from flows.conditions import MAX_DEPTH, MAX_LENGTH
from flows.loader import FlowLoadError, load_text
from flows.model import Flow
from flows.safe_yaml import MAX_BYTES

HEAD = """\
id: demo
name: Demo
touchpoint: test
journey_stage: usage
languages: [en]
default_language: en
steps:
  - id: ask
    type: scale
    range: [0, 10]
    save_as: score
    text: How likely?
    next:
      - if: '{condition}'
        goto: thanks
      - goto: thanks
  - id: thanks
    type: end
    text: Thanks
"""


def flow_with_condition(condition: str) -> str:
    return HEAD.replace("{condition}", condition.replace("'", "''"))


HOSTILE = {
    "10,000 nested parentheses": "(" * 10_000 + "score" + ")" * 10_000 + " <= 6",
    "200 KB expression": " and ".join(["score <= 6"] * 13_000),
    "not x 5000": "not " * 5_000 + "score",
    "minus x 5000": "-" * 5_000 + "score < 3",
    "9**9**9": "9**9**9 > score",
    "a 5000-digit number": "score < " + "9" * 5_000,
    "a long sum": " + ".join(["score"] * 3_000) + " > 1",
    "a long list": "score in [" + ", ".join(["1"] * 20_000) + "]",
    "nesting just over the limit": "not " * MAX_DEPTH + "score",
}


@pytest.mark.parametrize("condition", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_condition_is_a_located_error(condition: str) -> None:
    source = flow_with_condition(condition)
    assert len(source.encode()) <= MAX_BYTES
    with pytest.raises(FlowLoadError) as refused:
        load_text(source, file="hostile.yaml")
    (error,) = refused.value.errors
    assert (error.file, error.line, error.column) == ("hostile.yaml", 14, 9)
    assert error.message.startswith("condition '")
    assert len(error.message) < 400  # a 200 KB condition is not echoed back


@pytest.mark.parametrize(
    "condition",
    [
        " and ".join(["score <= 6"] * 60),  # a long `and` chain under the length limit
        "(" * 20 + "score <= 6" + ")" * 20,
        "not not not score > 6",
        "score < 99999999999999999999999999",
    ],
)
def test_long_but_reasonable_conditions_are_accepted(condition: str) -> None:
    assert len(condition) <= MAX_LENGTH
    load_text(flow_with_condition(condition))


def test_the_length_limit_is_named_in_the_error() -> None:
    with pytest.raises(FlowLoadError) as refused:
        load_text(flow_with_condition(" or ".join(["score == 1"] * 200)))
    assert f"keep it under {MAX_LENGTH}" in str(refused.value)


def message_chain(count: int) -> dict[str, Any]:
    """A flow of `count` messages in a row, then an end: the worst case for loop finding."""
    steps: list[dict[str, Any]] = [
        {"id": f"m{n}", "type": "message", "text": "hi"} for n in range(count)
    ]
    steps.append({"id": "bye", "type": "end", "text": "bye"})
    return {
        "id": "big",
        "name": "Big",
        "touchpoint": "test",
        "journey_stage": "usage",
        "languages": ["en"],
        "default_language": "en",
        "steps": steps,
    }


def successor_lookups(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> int:
    calls = 0
    real = checks._successors

    def counting(flow: Flow, index: int) -> list[tuple[checks.Path_, str]]:
        nonlocal calls
        calls += 1
        return real(flow, index)

    monkeypatch.setattr(checks, "_successors", counting)
    assert checks.check(flow) == []
    return calls


@pytest.mark.parametrize("count", [1_000, 4_000])
def test_checking_a_flow_is_linear_in_its_steps(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = Flow.model_validate(message_chain(count))
    assert successor_lookups(flow, monkeypatch) <= 4 * (count + 1)


def test_a_loop_through_thousands_of_messages_is_found_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = message_chain(3_000)
    data["steps"][-2]["next"] = "m0"  # the last message leads back to the first
    data["steps"][-1]["id"] = "unused"
    flow = Flow.model_validate(data)
    loops = [p for p in checks.check(flow) if "loop of messages" in p.message]
    assert len(loops) == 1 and loops[0].path == ("steps", 0)
    assert loops[0].message.startswith("steps m0 -> m1 -> m2 -> ")


def test_a_flow_of_thousands_of_steps_loads() -> None:
    lines = [line for line in HEAD.splitlines() if not line.startswith("    next")][:7]
    steps = "".join(f"  - {{id: s{n}, type: message, text: hi}}\n" for n in range(4_000))
    source = "\n".join(lines) + "\n" + steps + "  - {id: bye, type: end, text: bye}\n"
    assert len(source.encode()) <= MAX_BYTES
    loaded = load_text(source)
    assert len(loaded.flow.steps) == 4_001


def test_a_dangling_next_in_a_big_flow_lists_a_bounded_number_of_steps() -> None:
    data = message_chain(2_000)
    data["steps"][0]["next"] = "nowhere"
    problems = checks.check(Flow.model_validate(data))
    dangling = next(p for p in problems if "no step has that id" in p.message)
    assert "… and 1971 more" in dangling.message
