"""No module of ours is part of an import cycle, counting imports inside functions too.

A cycle works only while every module in it happens to be imported in a lucky order, and
it joins modules that should each be understood alone. The graph is read from the source
(every non-test module under the four top-level folders), so a late import made to dodge a
cycle at import time still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("events", "projections", "adapters", "service")
PREFIX = "ticketsync."


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return PREFIX + ".".join(parts)


def imported(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """Every `ticketsync.*` module this module's code imports, wherever the import is."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            # `from package import module` imports the module.
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return {module for module in found if module.startswith(PREFIX)}


def graph() -> dict[str, set[str]]:
    files = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    modules = {module_name(path): path for path in files}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = imported(tree, name, path.name == "__init__.py")
        # A name imported from a module that is not itself one of ours is that module's.
        edges[name] = {
            target if target in modules else target.rpartition(".")[0] for target in targets
        } & set(modules)
        edges[name].discard(name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_our_modules() -> None:
    edges = graph()
    assert len(edges) > 40
    assert "ticketsync.service.store.log" in edges["ticketsync.service.bootstrap"]


def test_no_module_is_part_of_an_import_cycle() -> None:
    assert cycles(graph()) == []


def test_a_cycle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
