"""Conditions in flow files (`score <= 6 and language == "zh"`), checked and evaluated safely.

Parsing is Python's `ast` restricted to comparisons, boolean logic, arithmetic and
literals; evaluation goes through `simpleeval`. Nothing here calls `eval`.
"""

from __future__ import annotations

import ast
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


def check_condition(expression: str, known_names: Iterable[str]) -> None:
    """Raise ConditionError unless the expression is valid and names only known variables."""
    known = set(known_names)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        hint = " (compare with ==, not =)" if "=" in expression and "==" not in expression else ""
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


def evaluate(expression: str, names: Mapping[str, Any]) -> bool:
    """True when the condition holds; a comparison with a missing answer is simply false."""
    evaluator = EvalWithCompoundTypes(names=dict(names), functions={})
    try:
        return bool(evaluator.eval(expression.strip()))
    except Exception:
        return False
