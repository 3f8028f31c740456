"""Safe YAML reading with a position for every value.

Refuses what a flow file never needs and an attacker would like: tags, anchors and
aliases (unbounded expansion), duplicate keys, several documents and huge files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NUMBER = 64
"""Characters in an unquoted number; a longer one is refused before it is read (Python
refuses ints of more than 4300 digits, YAML 1.1's base-60 numbers take seconds to compute
or overflow a float, and a flow's numbers are scores, counts and durations)."""
"""Nesting deeper than this is refused before parsing (a flow needs about 6 levels)."""
_OPENERS = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSERS = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a file."""

    line: int
    column: int


class YamlError(Exception):
    """A flow file that cannot be read as plain YAML."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _position(mark: Any) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_YAML11_WORDS = {"yes", "no", "on", "off", "y", "n"}


class _Builder:
    def __init__(self) -> None:
        self.positions: dict[Path_, Position] = {}
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.positions.setdefault(path, _position(node.start_mark))
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlError("a key must be a plain word", _position(key_node.start_mark))
                key = str(key_node.value)
                if key == "<<":
                    raise YamlError(
                        "merge keys (<<) are not supported", _position(key_node.start_mark)
                    )
                if key in result:
                    raise YamlError(
                        f"duplicate key '{key}' (it already appears above)",
                        _position(key_node.start_mark),
                    )
                self.positions[(*path, key)] = _position(key_node.start_mark)
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == "tag:yaml.org,2002:bool" and node.value.lower() in _YAML11_WORDS:
            return node.value  # "No" as a label stays a word, not False
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        if node.tag in _NUMBERS and len(node.value) > MAX_NUMBER:
            raise YamlError(
                f"a number this long ({len(node.value)} characters) is not supported; "
                "put quotes around it if it is a text",
                _position(node.start_mark),
            )
        return self._constructor.construct_object(node, deep=True)


def read_yaml(text: str) -> tuple[Any, dict[Path_, Position]]:
    """Parse one YAML document; return the data and the position of every path in it."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise YamlError(f"file is larger than {MAX_BYTES // 1024} KiB", Position(1, 1))
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            depth += isinstance(token, _OPENERS) - isinstance(token, _CLOSERS)
            if depth > MAX_DEPTH:  # the parser below recurses once per level
                raise YamlError(
                    f"the file nests deeper than {MAX_DEPTH} levels", _position(token.start_mark)
                )
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
                raise YamlError(
                    "anchors and aliases (&name, *name) are not supported in flow files",
                    _position(token.start_mark),
                )
            if isinstance(token, yaml.TagToken):
                raise YamlError(
                    "tags (!name) are not supported in flow files", _position(token.start_mark)
                )
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and exc.context_mark is not None and mark.index >= len(text):
            mark = exc.context_mark  # "unexpected end of stream": point at what was left open
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.problem and exc.context:
            message += f" ({exc.context})"
        if exc.problem and (
            "expected ',' or '}'" in exc.problem
            or "expected ',' or ']'" in exc.problem
            or "mapping values are not allowed" in exc.problem
        ):
            message += '; put quotes around texts that contain ? : , [ ] { } or # (en: "Why?")'

        raise YamlError(message, _position(mark)) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML error: {exc}", Position(1, 1)) from None
    if node is None:
        raise YamlError("the file is empty", Position(1, 1))
    builder = _Builder()
    return builder.build(node, ()), builder.positions
