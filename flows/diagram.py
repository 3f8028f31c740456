"""A Mermaid diagram drawn from a flow, so the picture cannot drift from the YAML."""

from __future__ import annotations

from flows.model import EndStep, Flow, HandoffStep
from flows.texts import pick


def _label(text: str) -> str:
    flat = " ".join(text.split())
    flat = flat if len(flat) <= 40 else flat[:39] + "…"
    return flat.replace('"', "'")


def mermaid(flow: Flow, *, language: str | None = None) -> str:
    """`flowchart TD` source: one node per step, one arrow per `next` arm."""
    language = language or flow.default_language
    lines = ["flowchart TD"]
    for step in flow.steps:
        text = _label(
            f"{step.id} ({step.type}): {pick(step.text, language, flow.default_language)}"
        )
        shape = ('(["', '"])') if isinstance(step, EndStep | HandoffStep) else ('["', '"]')
        lines.append(f"    {step.id}{shape[0]}{text}{shape[1]}")
    for index, step in enumerate(flow.steps):
        if isinstance(step, EndStep | HandoffStep):
            continue
        next_ = step.next
        if next_ is None:
            if index + 1 < len(flow.steps):
                lines.append(f"    {step.id} --> {flow.steps[index + 1].id}")
        elif isinstance(next_, str):
            lines.append(f"    {step.id} --> {next_}")
        else:
            for branch in next_:
                condition = _label(branch.if_ or "otherwise")
                lines.append(f'    {step.id} -->|"{condition}"| {branch.goto}')
    return "\n".join(lines) + "\n"
