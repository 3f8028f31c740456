"""Conditions in flow files (`score <= 6 and language == "zh"`), checked and evaluated safely.

Parsing is Python's `ast` restricted to comparisons, boolean logic, arithmetic and
literals; evaluation goes through `simpleeval`. Nothing here calls `eval`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from typing import Any

from simpleeval import EvalWithCompoundTypes

_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Mod,
)


class ConditionError(ValueError):
    """A condition that is not valid in the flow language."""


Kind = str | frozenset[str]
"""What a name holds: "number", "text", or the set of words a choice can be."""

_SINGLE_EQUALS = re.compile(r"(?<![<>=!])=(?!=)")


def check_condition(
    expression: str, known_names: Iterable[str], kinds: Mapping[str, Kind] | None = None
) -> None:
    """Raise ConditionError unless the expression is valid, names only known variables and
    compares each with the right kind of value (a score with a number, a choice with one
    of its values)."""
    known = set(known_names)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        hint = " (compare with ==, not =)" if _SINGLE_EQUALS.search(expression) else ""
        raise ConditionError(f"condition '{expression}' is not valid: {exc.msg}{hint}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConditionError(
                f"condition '{expression}' uses {type(node).__name__}, which is not allowed; "
                "use comparisons (<, <=, ==, !=, in), and, or, not, numbers and quoted words"
            )
        if isinstance(node, ast.Name) and node.id not in known:
            names = ", ".join(sorted(known)) or "none"
            raise ConditionError(
                f"condition '{expression}' uses unknown name '{node.id}'; known names: {names}"
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
                _check_pair(expression, op, left, right, kinds or {})


def _constants(node: ast.expr) -> list[object] | None:
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) for e in node.elts
    ):
        return [e.value for e in node.elts if isinstance(e, ast.Constant)]
    return None


def _check_pair(
    expression: str, op: ast.cmpop, left: ast.expr, right: ast.expr, kinds: Mapping[str, Kind]
) -> None:
    for name_node, other in ((left, right), (right, left)):
        if not isinstance(name_node, ast.Name) or name_node.id not in kinds:
            continue
        values = _constants(other)
        if values is None:
            continue
        kind, name = kinds[name_node.id], name_node.id
        if kind == "number":
            for value in values:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ConditionError(
                        f"condition '{expression}': '{name}' is a score, so compare it with a "
                        f"number (e.g. {name} <= 6), not {value!r}"
                    )
        elif isinstance(kind, frozenset):
            options = ", ".join(sorted(kind))
            if isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
                raise ConditionError(
                    f"condition '{expression}': '{name}' is a choice ({options}); compare it "
                    "with ==, != or in"
                )
            for value in values:
                if value not in kind:
                    raise ConditionError(
                        f"condition '{expression}': '{name}' is one of {options}; "
                        f"{value!r} is not one of them"
                    )


def evaluate(expression: str, names: Mapping[str, Any]) -> bool:
    """True when the condition holds; a comparison with a missing answer is simply false."""
    evaluator = EvalWithCompoundTypes(names=dict(names), functions={})
    try:
        return bool(evaluator.eval(expression.strip()))
    except Exception:
        return False
