"""Loading a flow file: safe YAML, then the models, then the checks, with file:line:col errors."""

from __future__ import annotations

import difflib
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from flows.checks import check
from flows.model import STEP_KINDS, Flow
from flows.safe_yaml import MAX_BYTES, Path_, Position, YamlError, read_yaml


@dataclass(frozen=True)
class FlowError:
    """One problem in a flow file, with where it is."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FlowLoadError(Exception):
    """A flow file that was refused; `errors` says why, each with file, line and column."""

    def __init__(self, errors: list[FlowError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


@dataclass(frozen=True)
class LoadedFlow:
    """A valid flow with the exact text it came from and a version derived from that text."""

    flow: Flow
    version: str
    source: str
    file: str


def version_of(source: str) -> str:
    """A short content hash: the same text is always the same version."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


def _field_names() -> set[str]:
    names: set[str] = set()
    models: list[type[BaseModel]] = [Flow, *STEP_KINDS]
    seen: set[type[BaseModel]] = set()
    while models:
        model = models.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            names.add(field.alias or name)
            annotation = field.annotation
            for arg in (*getattr(annotation, "__args__", ()), annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    models.append(arg)
                for inner in getattr(arg, "__args__", ()):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        models.append(inner)
    return names


_FIELD_NAMES = _field_names()
_STEP_TYPES = "message, scale, choice, open, end, handoff"
_STEP_TYPE_NAMES = frozenset(_STEP_TYPES.split(", "))


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Keep the parts of a pydantic error location that exist in the data (drops union tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and part == "if_" and "if" in node:
            path.append("if")
            node = node["if"]
    return tuple(path)


def _message(error: Any, path: Path_) -> str:
    kind = error["type"]
    last = error["loc"][-1] if error["loc"] else None
    where = f"'{path[-1]}': " if path and isinstance(path[-1], str) else ""
    if kind == "extra_forbidden":
        if str(last) in _FIELD_NAMES:  # a real key, in the wrong place
            step_type = next((part for part in error["loc"] if part in _STEP_TYPE_NAMES), None)
            owner = f"a '{step_type}' step" if step_type else "this part of the flow"
            return f"key '{last}' is not used in {owner}; remove it"
        suggestion = difflib.get_close_matches(str(last), _FIELD_NAMES, n=1)
        hint = f"; did you mean '{suggestion[0]}'?" if suggestion else ""
        return f"unknown key '{last}'{hint}"
    if kind == "missing" and isinstance(last, int):  # a too-short pair such as `range: [1]`
        return f"{where}item {last + 1} is missing"
    if kind == "missing":
        return f"missing required key '{last}'"
    if kind == "union_tag_not_found":
        return f"each step needs a 'type': one of {_STEP_TYPES}"
    if kind == "union_tag_invalid":
        given = error["input"].get("type") if isinstance(error["input"], dict) else error["input"]
        return f"unknown step type '{given}'; use one of {_STEP_TYPES}"
    if kind == "string_pattern_mismatch" and path and path[-1] in ("id", "goto"):
        return (
            f"'{error['input']}' is not a valid step id: use lower-case letters, digits "
            "and _, starting with a letter"
        )
    if kind == "value_error":  # our own validators' messages, without pydantic's prefix
        return f"{where}{error['ctx']['error']}"
    return f"{where}{error['msg']}"


def _position(positions: dict[Path_, Position], path: Path_) -> Position:
    while path and path not in positions:
        path = path[:-1]
    return positions.get(path, Position(1, 1))


def _shape_errors(
    exc: ValidationError, data: Any, positions: dict[Path_, Position], file: str
) -> list[FlowError]:
    found: list[tuple[Path_, str, bool]] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = _data_path(data, loc)
        if error["type"] == "extra_forbidden" and loc:
            path = (*path, loc[-1])
        union_member = error["type"] not in ("missing", "extra_forbidden") and len(path) < len(loc)
        found.append((path, _message(error, path), union_member))
    # a union reports one error per member; keep the member that got furthest
    above = {path[:end] for path, _, _ in found for end in range(len(path))}
    result: list[FlowError] = []
    seen: set[tuple[Path_, str]] = set()
    seen_paths: set[Path_] = set()
    for path, message, union_member in found:
        if union_member and path in above:
            continue
        if (path, message) in seen or (union_member and path in seen_paths):
            continue
        seen.add((path, message))
        seen_paths.add(path)
        position = _position(positions, path)
        result.append(FlowError(file, position.line, position.column, message))
    return result


def load_text(source: str, *, file: str = "<text>") -> LoadedFlow:
    """Validate a flow's YAML text; raise FlowLoadError listing every problem found."""
    try:
        data, positions = read_yaml(source)
    except YamlError as exc:
        raise FlowLoadError(
            [FlowError(file, exc.position.line, exc.position.column, exc.message)]
        ) from None
    if not isinstance(data, dict):
        raise FlowLoadError(
            [FlowError(file, 1, 1, "a flow file must be a mapping of keys (id, name, steps, ...)")]
        )
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        raise FlowLoadError(_shape_errors(exc, data, positions, file)) from None
    problems = check(flow)
    if problems:
        errors = []
        for problem in problems:
            position = _position(positions, problem.path)
            errors.append(FlowError(file, position.line, position.column, problem.message))
        raise FlowLoadError(sorted(errors, key=lambda e: (e.line, e.column)))
    return LoadedFlow(flow=flow, version=version_of(source), source=source, file=file)


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_source(path: str | Path) -> str:
    """The UTF-8 text of a flow file; FlowLoadError for anything that is not a regular file
    of at most MAX_BYTES (a FIFO, a device, a link to /dev/zero, a directory, a huge file).

    Never blocks: the file's type is checked before opening, the opening does not wait
    (O_NONBLOCK), the opened file is checked again, and at most MAX_BYTES + 1 are read.
    """
    name = str(path)

    def refuse(message: str) -> FlowLoadError:
        return FlowLoadError([FlowError(name, 1, 1, message)])

    def check(mode: int, size: int) -> None:
        if not stat.S_ISREG(mode):
            raise refuse(f"cannot read file: it is {_kind(mode)}, not a regular file")
        if size > MAX_BYTES:
            raise refuse(f"file is larger than {MAX_BYTES // 1024} KiB")

    try:
        before = os.stat(path)  # follows links: a link to /dev/zero is a device
        check(before.st_mode, before.st_size)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as file:
            opened = os.fstat(file.fileno())  # the file may have been swapped meanwhile
            check(opened.st_mode, opened.st_size)
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise refuse(f"file is larger than {MAX_BYTES // 1024} KiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text ({exc.reason})") from None


def load_file(path: str | Path) -> LoadedFlow:
    """Read and validate one flow file."""
    return load_text(read_source(path), file=str(path))
