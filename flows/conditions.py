"""Conditions in flow files (`score <= 6 and language == "zh"`), checked and evaluated safely.

Parsing is Python's `ast` restricted to comparisons, boolean logic, arithmetic and
literals; evaluation goes through `simpleeval`. Nothing here calls `eval`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
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


MAX_LENGTH = 1000
"""Characters a condition may have; split a longer one into several `next` arms."""
MAX_DEPTH = 50
"""Levels a condition may nest (brackets, `not`, operators); evaluation recurses per level."""


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
    tree = _parse(expression)
    shown = _shown(expression)
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConditionError(
                f"condition '{shown}' uses {type(node).__name__}, which is not allowed; "
                "use comparisons (<, <=, ==, !=, in), and, or, not, numbers and quoted words"
            )
        if isinstance(node, ast.Name) and node.id not in known:
            names = listing(sorted(known)) or "none"
            raise ConditionError(
                f"condition '{shown}' uses unknown name '{node.id}'; known names: {names}"
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
                _check_pair(shown, op, left, right, kinds or {})


def listing(names: list[str], limit: int = 30) -> str:
    """Names joined by commas, at most `limit` of them ("a, b, … and 12 more")."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])}, … and {len(names) - limit} more"


def _shown(expression: str) -> str:
    """The condition as quoted in a message: a long one is cut short."""
    return expression if len(expression) <= 80 else f"{expression[:60]}…"


def _parse(expression: str) -> ast.Expression:
    """The syntax tree of a condition of bounded length and depth; ConditionError otherwise.

    The bounds come first, so that no input makes the parser recurse without end or the
    check take more than linear time.
    """
    shown = _shown(expression)
    if len(expression) > MAX_LENGTH:
        raise ConditionError(
            f"condition '{shown}' is {len(expression)} characters long; keep it under "
            f"{MAX_LENGTH} (split it into several 'next' arms)"
        )
    too_deep = ConditionError(
        f"condition '{shown}' nests deeper than {MAX_DEPTH} levels; write it more simply"
    )
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        if "too many nested" in (exc.msg or ""):
            raise too_deep from None
        hint = " (compare with ==, not =)" if _SINGLE_EQUALS.search(expression) else ""
        raise ConditionError(f"condition '{shown}' is not valid: {exc.msg}{hint}") from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise too_deep from None
    level: list[tuple[ast.AST, int]] = [(tree, 1)]
    while level:  # iterative: a deep tree must not make this check recurse either
        node, depth = level.pop()
        if depth > MAX_DEPTH:
            raise too_deep
        level.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree


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
        expression = expression.strip()
        return bool(evaluator.eval(expression, previously_parsed=_parsed(expression)))
    except Exception:
        return False


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> ast.AST:
    """An expression's syntax tree, parsed once (flows hold few distinct conditions, and a
    parse cost more than evaluating it); evaluating never changes the tree."""
    parsed: ast.AST = EvalWithCompoundTypes.parse(expression)
    return parsed
