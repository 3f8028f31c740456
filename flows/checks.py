"""Checks a flow beyond its shape: links between steps, translations, conditions, metrics."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass

from flows.conditions import ConditionError, Kind, check_condition, listing
from flows.graphs import shortest_loop, strongly_connected
from flows.model import (
    ALLOWED_METRIC_RANGES,
    Branch,
    ChoiceStep,
    EndStep,
    Flow,
    HandoffStep,
    Localized,
    MessageStep,
    OpenStep,
    ScaleStep,
    answer_name,
)
from flows.texts import placeholders

BUILTIN_NAMES = ("customer_name", "channel", "language")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """Something wrong in a flow, at a path inside the YAML document."""

    path: Path_
    message: str


def known_names(flow: Flow) -> set[str]:
    """The names conditions and texts may use: answers, flow variables and built-ins."""
    names = set(BUILTIN_NAMES) | set(flow.variables)
    for step in flow.steps:
        if isinstance(step, ScaleStep | ChoiceStep | OpenStep):
            names.add(answer_name(step))
    return names


def name_kinds(flow: Flow) -> dict[str, Kind]:
    """What each answer holds, for checking conditions: a number, a choice's values, text."""
    kinds: dict[str, Kind] = {"language": frozenset(flow.languages)}
    mixed: set[str] = set()
    for step in flow.steps:
        kind: Kind
        if isinstance(step, ScaleStep):
            kind = "number"
        elif isinstance(step, ChoiceStep):
            kind = frozenset(choice.value for choice in step.choices)
        elif isinstance(step, OpenStep):
            kind = "text"
        else:
            continue
        name = answer_name(step)
        previous = kinds.get(name)
        if isinstance(previous, frozenset) and isinstance(kind, frozenset):
            kind = previous | kind
        elif previous is not None and previous != kind:
            mixed.add(name)
        kinds[name] = kind
    return {name: kind for name, kind in kinds.items() if name not in mixed}


def where_in(flow: Flow, path: Path_) -> str:
    """A readable place in a flow: "step 'why_low', labels.min"."""
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        field = ".".join(str(part) for part in path[2:])
        return f"step '{flow.steps[path[1]].id}'" + (f", {field}" if field else "")
    return ".".join(str(part) for part in path)


def texts_of(flow: Flow) -> Iterator[tuple[Path_, Localized]]:
    """Every text a person reads, with where it is in the file (also used by the studio's
    side-by-side view)."""
    yield ("name",), flow.name
    if flow.description is not None:
        yield ("description",), flow.description
    for name, value in flow.variables.items():
        yield ("variables", name), value
    for index, step in enumerate(flow.steps):
        base: Path_ = ("steps", index)
        yield (*base, "text"), step.text
        if isinstance(step, ScaleStep | ChoiceStep) and step.reask is not None:
            yield (*base, "reask"), step.reask
        if isinstance(step, ScaleStep) and step.labels is not None:
            yield (*base, "labels", "min"), step.labels.min
            yield (*base, "labels", "max"), step.labels.max
        if isinstance(step, ChoiceStep):
            for number, choice in enumerate(step.choices):
                yield (*base, "choices", number, "label"), choice.label
        if isinstance(step, OpenStep) and step.probe is not None:
            yield (*base, "probe", "text"), step.probe.text


def _successors(flow: Flow, index: int) -> list[tuple[Path_, str]]:
    step = flow.steps[index]
    if isinstance(step, EndStep | HandoffStep):
        return []
    base: Path_ = ("steps", index, "next")
    if step.next is None:
        following = flow.steps[index + 1].id if index + 1 < len(flow.steps) else None
        return [(("steps", index), following)] if following else []
    if isinstance(step.next, str):
        return [(base, step.next)]
    return [((*base, arm, "goto"), branch.goto) for arm, branch in enumerate(step.next)]


def check(flow: Flow) -> list[Problem]:
    """Every problem found in a shape-valid flow; empty when the flow is good to run."""
    ids = _first_index_of_ids(flow)
    names, kinds = known_names(flow), name_kinds(flow)
    return [
        *_check_default_language(flow),
        *_check_ids(flow),
        *_check_translations(flow),
        *_check_placeholders(flow, names),
        *(
            problem
            for index in range(len(flow.steps))
            for problem in _check_step(flow, index, names, kinds)
        ),
        *_check_escalation(flow, names, kinds),
        *_check_links(flow, ids),
        *_check_reachable(flow, ids),
        *_message_loops(flow, ids),
    ]


def _first_index_of_ids(flow: Flow) -> dict[str, int]:
    """Each step id with the index of the first step that has it."""
    ids: dict[str, int] = {}
    for index, step in enumerate(flow.steps):
        ids.setdefault(step.id, index)
    return ids


def _check_default_language(flow: Flow) -> Iterator[Problem]:
    if flow.default_language not in flow.languages:
        yield Problem(
            ("default_language",),
            f"default_language '{flow.default_language}' is not one of languages {flow.languages}",
        )


def _check_ids(flow: Flow) -> Iterator[Problem]:
    """Step ids are unique, and no answer is saved under a variable's name."""
    seen: set[str] = set()
    for index, step in enumerate(flow.steps):
        if step.id in seen:
            yield Problem(
                ("steps", index, "id"), f"step id '{step.id}' is used twice; ids must be unique"
            )
        seen.add(step.id)
        if isinstance(step, ScaleStep | ChoiceStep | OpenStep):
            name = answer_name(step)
            if name in flow.variables or name in BUILTIN_NAMES:
                yield Problem(
                    ("steps", index),
                    f"step '{step.id}' saves its answer as '{name}', which is "
                    "already a variable name",
                )


def _check_translations(flow: Flow) -> Iterator[Problem]:
    """Every text has one entry per language of the flow, and no other."""
    languages = set(flow.languages)
    for path, text in texts_of(flow):
        if isinstance(text, str):
            if len(languages) > 1:
                yield Problem(
                    path,
                    f"missing translation: write one text per language, e.g. "
                    f"{{{', '.join(f'{lang}: ...' for lang in flow.languages)}}}",
                )
            continue
        for language in flow.languages:
            if not text.get(language, "").strip():
                yield Problem(path, f"{where_in(flow, path)}: missing translation for '{language}'")
        for language in text:
            if language not in languages:
                yield Problem(
                    (*path, language),
                    f"language '{language}' is not in the flow's languages {flow.languages}",
                )


def _check_placeholders(flow: Flow, names: set[str]) -> Iterator[Problem]:
    """Texts use only `{variables}` the flow knows."""
    for path, text in texts_of(flow):
        for value in [text] if isinstance(text, str) else text.values():
            for name in placeholders(value):
                if name not in names:
                    yield Problem(
                        path, f"unknown variable '{{{name}}}'; known: {listing(sorted(names))}"
                    )


def _check_step(
    flow: Flow, index: int, names: set[str], kinds: dict[str, Kind]
) -> Iterator[Problem]:
    """One step on its own: its choices, its scale and the arms of its `next`."""
    step = flow.steps[index]
    if isinstance(step, ChoiceStep):
        seen: set[str] = set()
        for number, choice in enumerate(step.choices):
            if choice.value in seen:
                yield Problem(
                    ("steps", index, "choices", number, "value"),
                    f"step '{step.id}': two choices have the value '{choice.value}'; "
                    "each needs its own",
                )
            seen.add(choice.value)
    if isinstance(step, ScaleStep):
        yield from _check_scale(step, index)
    next_ = getattr(step, "next", None)
    if isinstance(next_, list):
        yield from _check_arms(next_, ("steps", index, "next"), names, kinds)


def _check_arms(
    arms: list[Branch], path: Path_, names: set[str], kinds: dict[str, Kind]
) -> Iterator[Problem]:
    """Only the last arm of a conditional `next` goes without `if`; each `if` is valid."""
    for arm, branch in enumerate(arms):
        last = arm == len(arms) - 1
        if branch.if_ is None and not last:
            yield Problem(
                (*path, arm),
                "only the last arm may omit 'if'; arms below it would never be used",
            )
        if branch.if_ is not None and last:
            yield Problem(
                (*path, arm),
                "the last arm of 'next' needs no 'if': "
                "add a final '- goto: <step>' for answers no condition matches",
            )
        if branch.if_ is not None:
            try:
                check_condition(branch.if_, names, kinds)
            except ConditionError as exc:
                yield Problem((*path, arm, "if"), str(exc))


def _check_escalation(flow: Flow, names: set[str], kinds: dict[str, Kind]) -> Iterator[Problem]:
    for number, rule in enumerate(flow.escalation):
        try:
            check_condition(rule.when, names, kinds)
        except ConditionError as exc:
            yield Problem(("escalation", number, "when"), str(exc))


MAX_SUGGESTIONS = 50
"""Dangling targets given a "did you mean" (each costs a pass over the ids)."""


def _check_links(flow: Flow, ids: dict[str, int]) -> Iterator[Problem]:
    """Every `next` and `goto` names a step that exists; a near miss gets a suggestion."""
    suggestions: dict[str, str | None] = {}
    for index in range(len(flow.steps)):
        for path, target in _successors(flow, index):
            if target in ids:
                continue
            if target not in suggestions and len(suggestions) < MAX_SUGGESTIONS:
                close = difflib.get_close_matches(target, ids, n=1)
                suggestions[target] = close[0] if close else None
            suggestion = suggestions.get(target)
            hint = f"did you mean '{suggestion}'?" if suggestion else f"steps: {listing(list(ids))}"
            yield Problem(path, f"'next' points to '{target}', but no step has that id; {hint}")


def _check_reachable(flow: Flow, ids: dict[str, int]) -> Iterator[Problem]:
    """Every step can be reached from the first one."""
    reachable = {0}
    queue = [0]
    while queue:
        index = queue.pop()
        for _, target in _successors(flow, index):
            if target in ids and ids[target] not in reachable:
                reachable.add(ids[target])
                queue.append(ids[target])
    for index, step in enumerate(flow.steps):
        if index not in reachable and ids.get(step.id) == index:
            yield Problem(("steps", index), f"step '{step.id}' is unreachable: no step leads to it")


def _message_loops(flow: Flow, ids: dict[str, int]) -> list[Problem]:
    """Loops made only of message steps: the bot would talk forever without waiting.

    One problem per loop, found in time linear in the flow's size: the strongly connected
    parts of the message-to-message links, then the shortest way round from each part's
    first step.
    """

    def talks_on(index: int) -> list[int]:
        targets = (ids.get(target) for _, target in _successors(flow, index))
        return [t for t in targets if t is not None and isinstance(flow.steps[t], MessageStep)]

    messages = [
        index
        for index, step in enumerate(flow.steps)
        if isinstance(step, MessageStep) and ids[step.id] == index
    ]
    links = {index: talks_on(index) for index in messages}
    problems: list[Problem] = []
    for part in strongly_connected(messages, links):
        start = min(part)
        if len(part) == 1 and start not in links[start]:
            continue  # a single message that does not lead to itself
        loop = shortest_loop(start, links, part)
        problems.append(
            Problem(
                ("steps", start),
                "steps "
                + " -> ".join(flow.steps[i].id for i in loop)
                + " form a loop of messages that never waits for an answer; "
                "add a question, an end or a handoff to it",
            )
        )
    return sorted(problems, key=lambda problem: problem.path)


def _check_scale(step: ScaleStep, index: int) -> list[Problem]:
    """A scale's range fits its metric."""
    path: Path_ = ("steps", index)
    metric = step.metric
    if metric in ALLOWED_METRIC_RANGES:
        allowed = ALLOWED_METRIC_RANGES[metric]
        if step.range is None and len(allowed) > 1:
            options = " or ".join(f"[{lo}, {hi}]" for lo, hi in sorted(allowed, reverse=True))
            return [Problem(path, f"metric '{metric}' needs a range: {options}")]
        if step.range is not None and tuple(step.range) not in allowed:
            options = " or ".join(f"[{lo}, {hi}]" for lo, hi in sorted(allowed, reverse=True))
            return [Problem((*path, "range"), f"metric '{metric}' uses range {options}")]
        return []
    if step.range is None:
        return [
            Problem(
                path, "a scale needs a range such as [1, 5] (only nps and csat have a fixed one)"
            )
        ]
    return []
