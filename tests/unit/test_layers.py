"""The house rules, checked on every module's imports (also those inside functions).

    events/       the domain: the standard library's pure modules, and events/ itself
    projections/  decisions and read models: events/, projections/, the same pure modules
    adapters/     one package (or module) per outside system; a system imports events/, the
                  shared modules (ports.py and helpers such as retry_after.py) and its own
                  package, never another system, projections/ or service/
    service/      the wiring: anything, but only service/bootstrap.py, the composition
                  root, imports a concrete adapter (anything in adapters/ but the shared
                  modules)
    the client    adapters/client/, installed as ticketsync.client: the AI agent's side.
                  events/, the shared modules and the chat adapter (its signing), never
                  service/, projections/ or a help desk's adapter; service/ may use it
                  (it is no adapter behind a port), adapters/ may not

and no module of ours is part of an import cycle. The rules are checked by `violations`,
which a test also runs on a small tree that breaks each of them on purpose.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("events", "projections", "adapters", "service")
# Pure modules of the standard library: no files, network, processes, clocks or threads.
PURE_STDLIB = frozenset(
    {
        "__future__",
        "abc",
        "codecs",
        "collections",
        "dataclasses",
        "datetime",
        "enum",
        "functools",
        "hashlib",
        "itertools",
        "json",
        "math",
        "operator",
        "re",
        "string",
        "textwrap",
        "types",
        "typing",
        "unicodedata",
    }
)
# Modules of adapters/ that belong to no one system.
SHARED_ADAPTERS = frozenset(
    {"http_answers", "payload_fields", "ports", "retry_after", "signature_headers", "strict_json"}
)
COMPOSITION_ROOT = "ticketsync.service.bootstrap"
# Folders installed under another name than their path says (pyproject.toml package-dir).
RENAMED = {("adapters", "client"): "ticketsync.client"}
CLIENT = "ticketsync.client"
# The one system the client may import: it signs and verifies as the chat adapter does.
CLIENT_MAY_USE = "chat"


def module_name(root: Path, path: Path) -> str:
    """`service/http/app.py` under `root` is `ticketsync.service.http.app`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    for folder, name in RENAMED.items():
        if tuple(parts[: len(folder)]) == folder:
            return ".".join([name, *parts[len(folder) :]])
    return ".".join(["ticketsync", *parts])


def modules(root: Path) -> dict[str, Path]:
    """Every module of the four layers under `root`, by its installed name."""
    found = {
        module_name(root, path): path
        for layer in LAYERS
        for path in sorted((root / layer).rglob("*.py"))
    }
    return found


def imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every module `name` imports: absolute and relative, at the top and in functions.

    `from package import module` counts as importing the module when it is one of ours.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield target
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    yield f"{target}.{alias.name}"


def layer(module: str) -> str | None:
    parts = module.split(".")
    if module == CLIENT or module.startswith(CLIENT + "."):
        return "client"
    if any(tuple(parts[1 : 1 + len(folder)]) == folder for folder in RENAMED):
        return "bare"  # `ticketsync.adapters.client`: the folder's name, a second copy
    if parts[0] == "ticketsync" and len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    if parts[0] in LAYERS:
        return "bare"  # `import service.x`: a second copy of our own module
    return None


def system(module: str) -> str | None:
    """The outside system an adapters/ module speaks for; None for shared modules."""
    parts = module.split(".")
    if len(parts) < 3 or parts[2] in SHARED_ADAPTERS:
        return None
    return parts[2]


def _check(module: str, imported: str) -> str | None:
    """What is wrong with `module` importing `imported`, if anything."""
    own, theirs = layer(module), layer(imported)
    if theirs == "bare":
        return "imports our code by a bare name or its folder's; use the installed name"
    if own in ("events", "projections"):
        allowed = {"events"} if own == "events" else {"events", "projections"}
        if theirs is None and imported.split(".")[0] not in PURE_STDLIB:
            return f"{own}/ is pure: it may import only pure standard modules"
        if theirs is not None and theirs not in allowed:
            return f"{own}/ may import only {', '.join(sorted(allowed))}/"
    if own == "client" and theirs is not None:
        if theirs in ("service", "projections"):
            return f"the client never imports {theirs}/: an agent runs it without the server"
        if theirs == "adapters" and system(imported) not in (None, CLIENT_MAY_USE):
            return f"the client imports no adapter but {CLIENT_MAY_USE}'s"
    if own == "adapters" and theirs is not None:
        if theirs in ("service", "projections"):
            return f"adapters/ never imports {theirs}/"
        if theirs == "client":
            return "adapters/ never imports the client, which speaks to ticketsync from outside"
        if theirs == "adapters" and system(imported) not in (None, system(module)):
            return "an adapter never imports another system's adapter"
    if (
        own == "service"
        and theirs == "adapters"
        and system(imported) is not None
        and module != COMPOSITION_ROOT
    ):
        return f"only {COMPOSITION_ROOT} imports a concrete adapter"
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_of(module: str, known: set[str]) -> str:
    """`ticketsync.service.http` for a module that imports that package's `__init__`."""
    return module if module in known else ""


def violations(root: Path) -> list[str]:
    """Every broken rule in the tree at `root`, one sentence each."""
    found = modules(root)
    known = set(found)
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        edges = graph.setdefault(name, set())
        for imported in set(imports(name, path, known)):
            problem = _check(name, imported)
            if problem:
                problems.append(f"{path.relative_to(root)} imports {imported}: {problem}")
            target = _package_of(imported, known)
            # A package's own __init__ is imported by every module in it; not a cycle.
            if target and target != name and not name.startswith(target + "."):
                edges.add(target)
    problems += [f"import cycle: {' -> '.join(group)}" for group in cycles(graph)]
    return sorted(problems)


def test_every_layer_has_modules_to_check() -> None:
    """A rule over no files would pass whatever the code did."""
    found = modules(ROOT)
    for name in LAYERS:
        assert sum(1 for module in found if layer(module) == name) >= 5, name
    assert COMPOSITION_ROOT in found


def test_the_code_keeps_the_house_rules() -> None:
    problems = violations(ROOT)
    assert not problems, "\n".join(problems)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        ("events/bad.py", "import os\n", "events/ is pure"),
        ("events/bad.py", "import httpx\n", "events/ is pure"),
        ("events/bad.py", "from ticketsync.projections import notes\n", "events/ may import"),
        ("projections/bad.py", "from pathlib import Path\n", "projections/ is pure"),
        ("projections/bad.py", "def f():\n    import tomllib\n", "projections/ is pure"),
        ("projections/bad.py", "from ticketsync.service import config\n", "may import only"),
        ("adapters/zendesk/bad.py", "from ticketsync.adapters.chat import x\n", "another"),
        ("adapters/zendesk/bad.py", "from ..chat import x\n", "another system"),
        ("adapters/chat/bad.py", "from ticketsync.service import config\n", "never imports"),
        ("service/http/bad.py", "from ticketsync.adapters.zendesk import api\n", "only"),
        ("service/cli/bad.py", "from ticketsync.adapters import local\n", "concrete adapter"),
        ("service/bad.py", "import service.config\n", "bare name"),
        ("service/workers/a.py", "from ticketsync.service.workers import b\n", "import cycle"),
        ("adapters/client/bad.py", "from ticketsync.service import config\n", "never imports"),
        ("adapters/client/bad.py", "from ticketsync.projections import notes\n", "never"),
        ("adapters/client/bad.py", "from ticketsync.adapters import local\n", "no adapter but"),
        ("adapters/client/bad.py", "from ticketsync.adapters.zendesk import y\n", "no adapter"),
        ("adapters/zendesk/bad.py", "from ticketsync.client import chat\n", "the client"),
        ("events/bad.py", "from ticketsync.client import chat\n", "events/ may import"),
        ("service/cli/bad.py", "from ticketsync.adapters.client import chat\n", "folder's"),
    ],
)
def test_a_deliberate_violation_is_reported(
    tmp_path: Path, relative: str, source: str, expected: str
) -> None:
    sound = {
        "events/__init__.py": "",
        "events/chat.py": "from dataclasses import dataclass\n",
        "projections/__init__.py": "",
        "projections/notes.py": "from ticketsync.events import chat\n",
        "adapters/__init__.py": "",
        "adapters/ports.py": "from ticketsync.events import chat\n",
        "adapters/local.py": "from ticketsync.adapters.ports import x\n",
        "adapters/chat/__init__.py": "",
        "adapters/chat/x.py": "from . import y\nfrom ticketsync.adapters import ports\n",
        "adapters/chat/y.py": "",
        "adapters/zendesk/__init__.py": "",
        "service/__init__.py": "",
        "service/config.py": "import os\n",
        "service/bootstrap.py": "from ticketsync.adapters.chat import x\n",
        "adapters/client/__init__.py": "from ticketsync.client.chat import ChatClient\n",
        "adapters/client/chat.py": (
            "from ticketsync.adapters.chat import x\nfrom ticketsync.adapters import ports\n"
            "from ticketsync.events import chat\n"
        ),
        "service/simulate.py": "from ticketsync.client import ChatClient\n",
        "service/workers/__init__.py": "",
        "service/workers/b.py": "from ticketsync.service.workers import a\n",
    }
    assert violations(_tree(tmp_path / "sound", {**sound, "service/workers/a.py": ""})) == []
    broken = _tree(tmp_path / "broken", {**sound, "service/workers/a.py": "", relative: source})
    problems = violations(broken)
    assert any(expected in problem for problem in problems), problems


def test_renamed_folders_are_installed_as_the_rules_read_them() -> None:
    """The rules name the client by the package-dir of pyproject.toml; were the two to part,
    the client's imports would go unchecked."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        package_dir = tomllib.load(file)["tool"]["setuptools"]["package-dir"]
    renamed = {
        name: folder for name, folder in package_dir.items() if name != f"ticketsync.{folder}"
    }
    assert renamed == {name: "/".join(folder) for folder, name in RENAMED.items()}
    assert module_name(ROOT, ROOT / "adapters" / "client" / "chat.py") == "ticketsync.client.chat"
    assert any(layer(module) == "client" for module in modules(ROOT))


def test_tests_and_benchmarks_import_our_code_by_its_installed_name() -> None:
    """`events` and `ticketsync.events` would be two copies of one module, with two sets of
    classes that isinstance tells apart."""
    checked = 0
    for folder in ("tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            checked += 1
            bare = {
                imported
                for imported in imports(module_name(ROOT, path), path, set())
                if layer(imported) == "bare"
            }
            assert not bare, f"{path.relative_to(ROOT)} imports {sorted(bare)}"
    assert checked > 20
