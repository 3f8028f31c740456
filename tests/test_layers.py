"""The layers import only downwards: no cycle between packages or modules, channels that know
the service and the delivery path but not storage, and one module that sends to customers.

    flows  <-  storage  <-  cxbot (service, delivery, app, CLI)  ->  bot (channels)  ->  flows

`bot/` may import `flows` and `bot` only; `storage/` never imports `bot` or `cxbot`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGES = ("flows", "storage", "bot", "cxbot", "admin")
ALLOWED = {
    "flows": {"flows"},
    "storage": {"storage", "flows"},
    "bot": {"bot", "flows"},
    "cxbot": {"cxbot", "bot", "flows", "storage", "admin"},
    "admin": {"admin", "flows", "storage", "bot"},
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "alembic" in path.parts:
                continue
            relative = path.relative_to(ROOT).with_suffix("")
            parts = list(relative.parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def imports_of(path: Path, module: str) -> set[str]:
    """Every project module `path` imports, including imports inside functions and
    TYPE_CHECKING blocks (a cycle is a cycle for a reader too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


MODULES = dict(_modules())


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        graph[module] = {name for name in imports_of(path, module) if name in MODULES} - {module}
    return graph


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_the_layers_below_it(module: str) -> None:
    layer = module.split(".")[0]
    roots = {name.split(".")[0] for name in imports_of(MODULES[module], module)}
    assert roots <= ALLOWED[layer], f"{module} imports {sorted(roots - ALLOWED[layer])}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_between_modules() -> None:
    assert _cycle(_graph()) is None


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        packages.setdefault(module.split(".")[0], set()).update(
            t.split(".")[0] for t in targets if t.split(".")[0] != module.split(".")[0]
        )
    assert _cycle(packages) is None


def test_the_checks_see_imports_and_cycles() -> None:
    delivery = imports_of(MODULES["cxbot.delivery"], "cxbot.delivery")
    assert {"bot.channel", "storage.outbox"} <= delivery
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


SENDING_CALLS = {"send_message", "send_text", "send_text_with"}
"""Platform calls that reach a customer."""
SENDERS = {"bot.telegram_sender", "bot.wechat_client", "bot.wechat_customer_service"}
"""The channel halves of the delivery path (`bot.channel.Sender`) and their HTTP client."""


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("bot.")))
def test_only_the_senders_call_the_platforms_send_apis(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SENDING_CALLS
    }
    assert module in SENDERS or calls == set(), f"{module} sends directly: {calls}"
