"""The documentation keeps up with the code: a test fails when something is undocumented.

Like Datasette's own docs tests: every step kind, flow key, setting, command and event
must appear in `docs/`, and the examples there must be what the code really does.
"""

from __future__ import annotations

import re
from argparse import ArgumentParser, _SubParsersAction
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import get_args

import pytest
from pydantic import AliasChoices, BaseModel

from cxbot.cli import build_parser
from cxbot.conversations import SLA
from cxbot.settings import Settings
from flows import events
from flows.conditions import check_condition, evaluate
from flows.diagram import mermaid
from flows.loader import FlowLoadError, load_file, load_text
from flows.matching import DEFAULT_HANDOFF_KEYWORDS, SKIP_KEYWORDS, STOP_KEYWORDS
from flows.model import (
    STEP_KINDS,
    Branch,
    Choice,
    EscalationRule,
    Flow,
    Probe,
    ScaleLabels,
    Start,
)
from flows.registry import BUILTIN_DIR
from flows.scores import parse_score

DOCS = Path(__file__).resolve().parent.parent / "docs"
FLOW_MODELS: tuple[type[BaseModel], ...] = (
    Flow,
    Probe,
    Start,
    EscalationRule,
    ScaleLabels,
    Choice,
    Branch,
    *STEP_KINDS,
)
WRITTEN_ELSEWHERE = {"telegram.md", "wechat.md"}
"""Channel pages written alongside these; links to them are checked once they exist."""


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def step_kind(model: type[BaseModel]) -> str:
    (literal,) = get_args(model.model_fields["type"].annotation)
    return literal


def flow_fields() -> list[object]:
    params: list[object] = []
    for model in FLOW_MODELS:
        for name, field in model.model_fields.items():
            key = field.alias or name
            params.append(pytest.param(model, name, key, id=f"{model.__name__}.{key}"))
    return params


def settings_env_names(name: str) -> list[str]:
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"CXBOT_{name.upper()}"]


def subcommands(parser: ArgumentParser) -> dict[str, ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, _SubParsersAction):
            return dict(action.choices)
    return {}


def event_classes() -> list[type[events.Event]]:
    found: list[type[events.Event]] = []
    pending = list(events.Event.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.name)


# ---- docs/flows.md ---------------------------------------------------------------------


@pytest.mark.parametrize("model", STEP_KINDS, ids=step_kind)
def test_every_step_kind_has_a_heading(model: type[BaseModel]) -> None:
    kind = step_kind(model)
    headings = [line for line in read("flows.md").splitlines() if line.startswith("#")]
    assert any(f"`{kind}`" in heading for heading in headings), f"no heading for `{kind}`"


@pytest.mark.parametrize(("model", "name", "key"), flow_fields())
def test_every_flow_key_is_documented(model: type[BaseModel], name: str, key: str) -> None:
    assert f"`{key}`" in read("flows.md"), f"{model.__name__}.{key} is not in docs/flows.md"


@pytest.mark.parametrize(("model", "name", "key"), flow_fields())
def test_every_flow_key_has_a_description(model: type[BaseModel], name: str, key: str) -> None:
    description = model.model_fields[name].description
    assert description and description.strip(), (
        f"{model.__name__}.{name} has no docstring, so the JSON Schema cannot explain it"
    )


def test_the_annotated_example_is_the_shipped_nps_flow() -> None:
    blocks = [body for lang, body in code_blocks(read("flows.md")) if lang == "yaml"]
    example = next(body for body in blocks if body.startswith("# Relationship NPS"))
    assert load_text(example).flow == load_file(BUILTIN_DIR / "nps.yaml").flow


def test_the_diagram_in_the_docs_is_drawn_from_the_shipped_nps_flow() -> None:
    diagrams = [body for lang, body in code_blocks(read("flows.md")) if lang == "mermaid"]
    assert diagrams == [mermaid(load_file(BUILTIN_DIR / "nps.yaml").flow)]


def test_the_validation_error_examples_are_real() -> None:
    blocks = code_blocks(read("flows.md"))
    examples = 0
    for (lang, source), (_, console) in pairwise(blocks):
        if lang != "yaml" or not source.startswith("# broken.yaml\n"):
            continue
        assert console.startswith("$ cxbot check broken.yaml\n"), console
        shown = [line for line in console.splitlines() if line.startswith("broken.yaml:")]
        with pytest.raises(FlowLoadError) as refused:
            load_text(source, file="broken.yaml")
        assert shown == [str(error) for error in refused.value.errors]
        examples += 1
    assert examples >= 4


CONDITION_EXAMPLES = [
    pytest.param("score <= 6", {"score": 3}, id="comparison"),
    pytest.param('resolved == "no"', {"resolved": "no"}, id="quoted-word"),
    pytest.param(
        'problem in ["late", "damaged"]',
        {"problem": "damaged"},
        id="in-list",
    ),
    pytest.param('score <= 6 and channel == "wechat"', {"score": 5, "channel": "wechat"}, id="and"),
    pytest.param("score * 10 >= 90", {"score": 9}, id="arithmetic"),
    pytest.param('language == "zh"', {"language": "zh"}, id="language"),
]


@pytest.mark.parametrize(("expression", "names"), CONDITION_EXAMPLES)
def test_the_condition_examples_hold(expression: str, names: dict[str, object]) -> None:
    assert f"`{expression}`" in read("flows.md")
    check_condition(expression, names)
    assert evaluate(expression, names) is True


def section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next `## `."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_typed_scores_in_the_docs_are_read_as_stated() -> None:
    typed = section(read("flows.md"), "What customers can type")
    rows = re.findall(r"^\| (`.*`) \| ([\d, ]+) \|$", typed, flags=re.MULTILINE)
    assert len(rows) >= 4
    for inputs, values in rows:
        texts = re.findall(r"`([^`]+)`", inputs)
        numbers = [int(value) for value in values.split(",")]
        assert len(texts) == len(numbers), inputs
        for text, number in zip(texts, numbers, strict=True):
            assert parse_score(text, 0, 10) == number, text
    refused = typed[typed.index("re-asks for anything else") :]
    for text in re.findall(r"`([^`]+)`", refused):
        assert parse_score(text, 0, 10) is None, text


@pytest.mark.parametrize(
    "keyword", [*DEFAULT_HANDOFF_KEYWORDS, *STOP_KEYWORDS, *SKIP_KEYWORDS], ids=str
)
def test_every_built_in_keyword_is_listed(keyword: str) -> None:
    assert f"`{keyword}`" in read("flows.md")


def _duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


@pytest.mark.parametrize("priority", sorted(SLA))
def test_every_priority_deadline_is_stated(priority: str) -> None:
    assert f"| `{priority}` | {_duration(SLA[priority])} |" in read("flows.md")


# ---- docs/settings.md, docs/cli.md, docs/architecture.md ----------------------------------


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_documented_with_its_environment_variable(name: str) -> None:
    text = read("settings.md")
    assert f"`{name}`" in text
    for env in settings_env_names(name):
        assert f"`{env}`" in text, f"{name}: `{env}` is not in docs/settings.md"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_has_a_description(name: str) -> None:
    assert Settings.model_fields[name].description


@pytest.mark.parametrize("command", list(subcommands(build_parser())))
def test_every_command_is_documented(command: str) -> None:
    text = read("cli.md")
    assert re.search(rf"^## {re.escape(command)}$", text, flags=re.MULTILINE)
    parser = subcommands(build_parser())[command]
    for sub in subcommands(parser):
        assert f"cxbot {command} {sub}" in text
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert f"{option}" in text, f"cxbot {command} {option} is not in docs/cli.md"


@pytest.mark.parametrize("event", event_classes(), ids=lambda cls: cls.name)
def test_every_event_is_documented(event: type[events.Event]) -> None:
    assert f"`{event.name}`" in read("architecture.md")


def test_every_place_in_the_where_table_exists() -> None:
    table = read("architecture.md").split("## Where each behaviour lives", 1)[1]
    table = table.split("\n\n", 2)[1]  # the table itself, up to the blank line after it
    places = re.findall(r"`((?:admin|bot|cxbot|flows|storage)/[^`]*)`", table)
    assert "storage/sqlite_driver.py" in places
    root = DOCS.parent
    for place in places:
        assert list(root.glob(place)), f"docs/architecture.md names {place}, which is not there"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@pytest.mark.parametrize(
    "name",
    [
        "flows.md",
        "settings.md",
        "webchat.md",
        "cli.md",
        "architecture.md",
        "operations.md",
        "admin.md",
        "api.md",
    ],
)
def test_links_between_docs_resolve(name: str) -> None:
    for target, anchor in re.findall(r"\]\(([a-z]+\.md)?(?:#([^)]*))?\)", read(name)):
        page = target or name
        if page in WRITTEN_ELSEWHERE and not (DOCS / page).exists():
            continue
        assert (DOCS / page).exists(), f"{name} links to missing {page}"
        if anchor:
            slugs = {_slug(line) for line in read(page).splitlines() if line.startswith("#")}
            assert anchor in slugs, f"{name} links to {page}#{anchor}, which is no heading"
