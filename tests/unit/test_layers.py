"""The dependency rule: events/ is pure, projections/ sees only events/, adapters/ never service/."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN = {"events", "projections", "adapters", "service", "tests"}
ALLOWED_OWN = {
    "events": {"events"},
    "projections": {"events", "projections"},
    "adapters": {"events", "adapters"},
}
THIRD_PARTY_IN_EVENTS = {"eventsourcing"}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def _root(module: str) -> str:
    """The layer a module belongs to: `ticketsync.events.chat` is in `events`."""
    parts = module.split(".")
    return parts[1] if parts[0] == "ticketsync" and len(parts) > 1 else parts[0]


def imported_roots(path: Path) -> set[str]:
    return {_root(module) for module in imported_modules(path)}


def code_files() -> list[Path]:
    found = [path for folder in (*sorted(OWN), "bench") for path in (ROOT / folder).rglob("*.py")]
    assert len(found) > 50, "the layer rules found no code to check"
    return found


def test_our_packages_are_imported_by_their_installed_name() -> None:
    """`events` and `ticketsync.events` would be two copies of one module, with two sets of
    classes that isinstance tells apart: everything imports the installed name."""
    for path in code_files():
        bare = {m for m in imported_modules(path) if m.split(".")[0] in OWN - {"tests"}}
        assert not bare, f"{path.relative_to(ROOT)} imports {sorted(bare)}"


@pytest.mark.parametrize("package", sorted(ALLOWED_OWN))
def test_package_imports_only_what_its_layer_may(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        own = imported_roots(path) & OWN
        assert own <= ALLOWED_OWN[package], (
            f"{path.relative_to(ROOT)} imports {sorted(own - ALLOWED_OWN[package])}"
        )


def test_events_use_only_the_standard_library() -> None:
    for path in (ROOT / "events").rglob("*.py"):
        outside = {
            name
            for name in imported_roots(path)
            if name not in sys.stdlib_module_names
            and name not in OWN | THIRD_PARTY_IN_EVENTS | {"__future__"}
        }
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"
