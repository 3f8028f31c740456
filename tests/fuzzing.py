"""Malformed-input generators shared by the fuzz tests and benchmarks/fuzz.py.

Inputs are mutations of real shapes: every field path of a JSON object (every leaf, every
object, every array) is replaced by every value of the wrong kind, or removed, and unknown
keys are added; hypothesis strategies combine a few such mutations at random. A `Tally`
counts what the server answered, per target, so a run can print its figures.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Path = tuple[str | int, ...]

LONG = os.environ.get("CXBOT_FUZZ_LONG") == "1"
"""Set by benchmarks/fuzz.py: every value on every field, and many more random examples."""
DEEP = 60
WRONG: list[Any] = [
    None,
    "",
    "text",
    "١٧٠٠٠٠٠٠٠٠",  # Arabic-Indic digits: str.isdigit() is True, int() accepts them
    "１２３",  # fullwidth digits
    "²",  # isdigit() True, int() refuses it
    "\ud800",  # a lone surrogate (json.dumps writes it as an escape)
    "x" * 5000,
    0,
    -1,
    2**31,
    2**63,
    2**64 + 1,
    -(2**70),
    10**200,
    1.5,
    -0.0,
    1e308,
    math.inf,  # json.dumps writes Infinity, json.loads reads it back
    math.nan,
    True,
    False,
    [],
    [1, "a", None],
    {},
    {"x": {"y": [None, {"z": "w"}]}},
]
"""A value of every JSON kind that a field should not hold, and edge values of the right
kinds (huge, negative, non-ASCII digits)."""


def nested(depth: int = DEEP) -> Any:
    """An array nested `depth` deep (deep enough to trouble a recursive parser)."""
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path in a JSON value, the containers before their contents (not the root)."""
    if isinstance(value, dict):
        items: Iterator[tuple[str | int, Any]] = iter(value.items())
    elif isinstance(value, list):
        items = iter(enumerate(value))
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def objects(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """The paths of every JSON object in a value, the root included."""
    if isinstance(value, dict):
        yield prefix
        for key, child in value.items():
            yield from objects(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from objects(child, (*prefix, index))


@dataclass(frozen=True)
class Mutation:
    """One change to a JSON value at a path."""

    path: Path
    kind: str  # "set", "delete", "add"
    value: Any = None

    def apply(self, document: Any) -> Any:
        """A changed deep copy of `document` (unchanged when the path is gone)."""
        changed = copy.deepcopy(document)
        if self.kind == "add":
            parent = _get(changed, self.path)
            if isinstance(parent, dict):
                parent["unexpected_field"] = copy.deepcopy(self.value)
            return changed
        parent = _get(changed, self.path[:-1])
        key = self.path[-1]
        if (isinstance(parent, dict) and key in parent) or (
            isinstance(parent, list) and isinstance(key, int) and key < len(parent)
        ):
            if self.kind == "delete":
                del parent[key]
            else:
                parent[key] = copy.deepcopy(self.value)
        return changed

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path) or "<root>"
        if self.kind == "delete":
            return f"del {where}"
        return f"{where} {'+=' if self.kind == 'add' else '='} {short(self.value)}"


def _get(document: Any, path: Path) -> Any:
    for key in path:
        try:
            document = document[key]
        except (KeyError, IndexError, TypeError):
            return None
    return document


def short(value: Any) -> str:
    """A readable abbreviation of a value, for failure messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def mutations(document: Any, wrong: list[Any] | None = None, stride: int = 1) -> Iterator[Mutation]:
    """Every path set to every wrong value and removed, and junk keys added to every object.

    With `stride` n, each path gets every n-th wrong value (a different share per path), so
    a quick run still tries every value and every path.
    """
    values = [*WRONG, nested()] if wrong is None else wrong
    for number, path in enumerate(paths(document)):
        for index, value in enumerate([*values, None]):
            if (number + index) % stride:
                continue
            if index < len(values):
                yield Mutation(path, "set", value)
            else:
                yield Mutation(path, "delete")
    for path in objects(document):
        yield Mutation(path, "add", {"nested": nested(8)})


def wrong_values() -> st.SearchStrategy[Any]:
    """Hypothesis: listed wrong values and arbitrary JSON (text with any code points)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
    )
    anything = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=8,
    )
    return st.sampled_from(WRONG) | anything


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any], max_changes: int = 3) -> tuple[Any, list[str]]:
    """Hypothesis: a seed with 1..max_changes random mutations, and what was done."""
    document = draw(st.sampled_from(seeds))
    done: list[str] = []
    for _ in range(draw(st.integers(1, max_changes))):
        places = list(paths(document))
        kind = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        if kind == "add":
            mutation = Mutation(draw(st.sampled_from(list(objects(document)))), "add", None)
            mutation = Mutation(mutation.path, "add", draw(wrong_values()))
        elif not places:
            break
        else:
            where = draw(st.sampled_from(places))
            mutation = Mutation(where, kind, draw(wrong_values()) if kind == "set" else None)
        document = mutation.apply(document)
        done.append(str(mutation))
    return document, done


async def run_property(
    strategy: st.SearchStrategy[Any], examples: int, check: Callable[[Any], Awaitable[None]]
) -> None:
    """Run `check` on `examples` drawn from `strategy` (seeded: the same every run).

    Hypothesis runs in a worker thread and hands each example to the test's event loop, so
    `check` can talk to the app there; a failing example is shrunk as usual.
    """
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def holds(example: Any) -> None:
        asyncio.run_coroutine_threadsafe(check(example), loop).result()

    await asyncio.to_thread(holds)


def dumps(document: Any) -> bytes:
    """JSON as a careless client would send it (NaN/Infinity allowed, surrogates escaped)."""
    return json.dumps(document, allow_nan=True).encode()


@dataclass
class Tally:
    """What one fuzz target's requests were answered."""

    target: str
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)

    def count(self, status: int, what: str) -> None:
        """Record one answer; remember what drew a 5xx."""
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors.append(f"{status}: {what}")

    async def post(self, client: httpx.AsyncClient, url: str, what: str, **request: Any) -> int:
        """Send one request and count its answer."""
        method = request.pop("method", "POST")
        return await self.send(client, client.build_request(method, url, **request), what)

    async def send(self, client: httpx.AsyncClient, request: httpx.Request, what: str) -> int:
        """Send a built request and count its answer; an exception the app raised counts as
        the 500 a server would have answered."""
        try:
            response = await client.send(request)
        except Exception as exc:  # the in-process transport re-raises what made a 500
            self.count(500, f"{what} ({type(exc).__name__}: {exc})")
            return 500
        self.count(response.status_code, what)
        return response.status_code

    @property
    def requests(self) -> int:
        """How many requests were sent."""
        return sum(self.statuses.values())

    def line(self) -> str:
        """The figures, one line."""
        spread = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        fives = sum(n for code, n in self.statuses.items() if code >= 500)
        return f"{self.target}: {self.requests} requests, {fives} 5xx ({spread})"
