"""The JSON Schema editors autocomplete from, and the Mermaid diagram drawn from a flow."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxbot.cli import main
from flows.diagram import mermaid
from flows.loader import load_file, load_text
from flows.model import EndStep, Flow, HandoffStep
from flows.registry import BUILTIN_DIR
from flows.schema import json_schema

STEP_KINDS = {"message", "scale", "choice", "open", "end", "handoff"}
SHIPPED = sorted(BUILTIN_DIR.glob("*.yaml"))
NPS = BUILTIN_DIR / "nps.yaml"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json_schema()


def step_schemas(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The schema of each step kind, by its `type`."""
    mapping = schema["properties"]["steps"]["items"]["discriminator"]["mapping"]
    return {kind: schema["$defs"][ref.rsplit("/", 1)[-1]] for kind, ref in mapping.items()}


def object_schemas(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"Flow": schema, **schema["$defs"]}


def described_properties() -> list[object]:
    """(model, property) pairs of every object in the schema."""
    defs = object_schemas(json_schema())
    params: list[object] = []
    for model, definition in defs.items():
        for name in definition.get("properties", {}):
            params.append(pytest.param(model, name, id=f"{model}.{name}"))
    return params


# ---- the schema ------------------------------------------------------------------------


def test_the_schema_names_its_dialect_and_itself(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    assert schema["title"] == "cxbot flow"
    assert schema["description"]


def test_all_six_step_kinds_are_under_the_type_discriminator(schema: dict[str, Any]) -> None:
    items = schema["properties"]["steps"]["items"]
    assert items["discriminator"]["propertyName"] == "type"
    assert set(items["discriminator"]["mapping"]) == STEP_KINDS
    assert {ref["$ref"] for ref in items["oneOf"]} == set(
        items["discriminator"]["mapping"].values()
    )
    for kind, definition in step_schemas(schema).items():
        assert definition["properties"]["type"]["const"] == kind
        assert {"id", "type", "text"} <= set(definition["required"])


@pytest.mark.parametrize(("model", "name"), described_properties())
def test_every_property_has_a_description(model: str, name: str) -> None:
    definition = object_schemas(json_schema())[model]
    assert definition["properties"][name].get("description"), f"{model}.{name}"


@pytest.mark.parametrize("model", sorted(object_schemas(json_schema())))
def test_every_model_refuses_unknown_keys(model: str) -> None:
    definition = object_schemas(json_schema())[model]
    assert definition["additionalProperties"] is False
    assert definition["description"]


def test_branch_arms_use_the_words_admins_write(schema: dict[str, Any]) -> None:
    branch = schema["$defs"]["Branch"]
    assert set(branch["properties"]) == {"if", "goto"}
    assert branch["required"] == ["goto"]


def test_cxbot_schema_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()


def test_a_yaml_language_server_modeline_is_just_a_comment() -> None:
    source = "# yaml-language-server: $schema=./flow.schema.json\n" + NPS.read_text("utf-8")
    assert load_text(source).flow == load_file(NPS).flow


# ---- the shipped flows against the schema ------------------------------------------------


def schema_problems(data: dict[str, Any], definition: dict[str, Any], where: str) -> list[str]:
    """Required and unknown keys of one mapping, by the schema's own lists."""
    problems = [f"{where}: missing '{key}'" for key in definition["required"] if key not in data]
    problems += [f"{where}: unknown '{key}'" for key in data if key not in definition["properties"]]
    return problems


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_shipped_flows_have_the_keys_the_schema_requires(
    path: Path, schema: dict[str, Any]
) -> None:
    data = yaml.safe_load(path.read_text("utf-8"))
    problems = schema_problems(data, schema, path.name)
    steps = step_schemas(schema)
    for index, step in enumerate(data["steps"]):
        assert step["type"] in steps, f"{path.name}: step {index} has type {step['type']!r}"
        problems += schema_problems(step, steps[step["type"]], f"{path.name} step {step['id']}")
    assert problems == []


def test_the_three_flows_are_shipped() -> None:
    assert [path.stem for path in SHIPPED] == ["ces", "csat", "nps"]


# ---- the diagram -------------------------------------------------------------------------

NODE = re.compile(r"^    (\w+)(\[\"|\(\[\")(.*)(\"\]|\"\]\))$")
EDGE = re.compile(r"^    (\w+) -->(?:\|\"(.*)\"\|)? (\w+)$")


def nodes_and_edges(diagram: str) -> tuple[list[str], list[tuple[str, str | None, str]]]:
    lines = diagram.splitlines()
    assert lines[0] == "flowchart TD"
    nodes: list[str] = []
    edges: list[tuple[str, str | None, str]] = []
    for line in lines[1:]:
        if node := NODE.match(line):
            nodes.append(node.group(1))
        elif edge := EDGE.match(line):
            edges.append((edge.group(1), edge.group(2), edge.group(3)))
        else:
            raise AssertionError(f"not a node or an edge: {line!r}")
    return nodes, edges


def edge_label(condition: str | None) -> str:
    """A condition as an edge label: double quotes become single ones inside Mermaid's."""
    return " ".join((condition or "otherwise").split()).replace('"', "'")


def expected_edges(flow: Flow) -> list[tuple[str, str | None, str]]:
    edges: list[tuple[str, str | None, str]] = []
    for index, step in enumerate(flow.steps):
        if isinstance(step, EndStep | HandoffStep):
            continue
        if step.next is None:
            edges += (
                [(step.id, None, flow.steps[index + 1].id)] if index + 1 < len(flow.steps) else []
            )
        elif isinstance(step.next, str):
            edges.append((step.id, None, step.next))
        else:
            edges += [(step.id, edge_label(arm.if_), arm.goto) for arm in step.next]
    return edges


def test_nps_has_one_node_per_step_and_one_labelled_edge_per_arm() -> None:
    flow = load_file(NPS).flow
    nodes, edges = nodes_and_edges(mermaid(flow))
    assert nodes == [step.id for step in flow.steps]
    assert edges == expected_edges(flow)
    assert [edge for edge in edges if edge[0] == "ask_score"] == [
        ("ask_score", "score <= 6", "why_low"),
        ("ask_score", "score <= 8", "why_mid"),
        ("ask_score", "otherwise", "why_high"),
    ]


def test_end_and_handoff_steps_are_rounded() -> None:
    diagram = mermaid(load_file(NPS).flow)
    assert '    thanks(["thanks (end): 感谢您的反馈，祝您生活愉快！"])' in diagram
    assert '    to_agent(["to_agent (handoff): ' in diagram
    assert '    why_low["why_low (open): 很抱歉让您失望了。最让您不满意的是什么？"]' in diagram


def test_the_diagram_speaks_the_language_asked_for() -> None:
    flow = load_file(NPS).flow
    assert "Sorry we let you down." in mermaid(flow, language="en")
    assert "很抱歉让您失望了" in mermaid(flow)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_flow_draws_completely(path: Path) -> None:
    flow = load_file(path).flow
    nodes, edges = nodes_and_edges(mermaid(flow))
    assert nodes == [step.id for step in flow.steps]
    assert edges == expected_edges(flow)


def edit(source: str, old: str, new: str) -> str:
    assert old in source, old
    return source.replace(old, new, 1)


def test_changing_the_yaml_changes_the_diagram() -> None:
    source = NPS.read_text("utf-8")
    before = mermaid(load_text(source).flow)

    stricter = edit(source, "      - if: score <= 8\n", "      - if: score <= 7\n")
    after = mermaid(load_text(stricter).flow)
    assert '-->|"score <= 7"| why_mid' in after
    assert '"score <= 8"' not in after

    rerouted = edit(source, "    next: thanks\n", "    next: to_agent\n")  # why_mid's
    assert "    why_mid --> to_agent" in mermaid(load_text(rerouted).flow)
    assert "    why_mid --> thanks" in before

    with_intro = edit(
        source,
        "steps:\n",
        "steps:\n  - id: intro\n    type: message\n    text: {zh: 您好, en: Hello}\n\n",
    )
    nodes, edges = nodes_and_edges(mermaid(load_text(with_intro).flow))
    assert nodes[0] == "intro"
    assert ("intro", None, "ask_score") in edges


def test_cxbot_diagram_prints_the_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", str(NPS), "--lang", "en"]) == 0
    assert capsys.readouterr().out == mermaid(load_file(NPS).flow, language="en")
