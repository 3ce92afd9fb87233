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


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


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
