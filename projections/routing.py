"""Where a ticket goes: the routing table from a conversation's primary intent (CONTRACT section 4).

`BUILT_IN` is the contract's table. `load_routing(path)` reads a TOML file that replaces its
intents (and, when the file has a `[default]` table, its default route); every problem in the
file raises `ConfigError` naming `TICKETSYNC_ROUTING_FILE`, the file, the line and the reason.
`parse_routing(text, source=...)` does the same from text, without I/O.
"""

from __future__ import annotations

import codecs
import json
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import cast

from ticketsync.events.errors import ConfigError
from ticketsync.events.tickets import PRIORITIES, Priority

VARIABLE = "TICKETSYNC_ROUTING_FILE"
ROUTE_KEYS = ("group", "priority", "tags")


@dataclass(frozen=True, kw_only=True)
class Route:
    """A help-desk group, a priority and the tags a ticket gets."""

    group: str
    priority: Priority
    tags: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RoutingTable:
    """Routes by intent name, and the route for conversations with no known intent.

    `intents` is copied into a read-only mapping, so a table cannot change once built.
    """

    default: Route
    intents: Mapping[str, Route]

    def __post_init__(self) -> None:
        # A frozen dataclass only stops rebinding; the copy stops the caller's dict from
        # changing the table behind its back.
        object.__setattr__(self, "intents", MappingProxyType(dict(self.intents)))

    def __hash__(self) -> int:
        return hash((self.default, frozenset(self.intents.items())))

    def route_for(self, intents: Sequence[str]) -> Route:
        """The route of the primary (first) intent; the default when there is none or it is unknown."""
        if not intents:
            return self.default
        return self.intents.get(intents[0], self.default)


BUILT_IN = RoutingTable(
    default=Route(group="Support Tier 1", priority="medium", tags=("unclassified",)),
    intents={
        "billing_problem": Route(group="Billing Team", priority="high", tags=("billing", "urgent")),
        "bug_report": Route(group="Engineering", priority="high", tags=("bug", "engineering")),
        "feature_request": Route(
            group="Product", priority="low", tags=("feature-request", "product")
        ),
        "usage_help": Route(
            group="Support Tier 2", priority="medium", tags=("documentation", "help")
        ),
        "cancellation_intent": Route(
            group="Retention", priority="urgent", tags=("churn", "cancellation")
        ),
        "security_report": Route(
            group="Security", priority="urgent", tags=("security", "compliance")
        ),
    },
)


def ticket_tags(route: Route, intents: Sequence[str]) -> tuple[str, ...]:
    """The route's tags, then every detected intent, in order and without duplicates.

    Blank intent names are left out: an empty tag means nothing to a help desk.
    """
    return tuple(dict.fromkeys(tag for tag in (*route.tags, *intents) if tag.strip()))


def load_routing(path: str | Path) -> RoutingTable:
    """Read a routing file (TOML, CONTRACT section 4) into a table that replaces the built-in one.

    Raises ConfigError when the file cannot be read, is not UTF-8 TOML, or does not have the
    contract's shape; the message starts with `TICKETSYNC_ROUTING_FILE: `.
    """
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or error.__class__.__name__
        raise ConfigError(f"{VARIABLE}: cannot read {source}: {reason}") from error
    # Editors on Windows may save UTF-8 with a byte-order mark, which tomllib refuses.
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{VARIABLE}: {source} line {line}: the file is not valid UTF-8"
        ) from error
    return parse_routing(text, source=source)


def parse_routing(text: str, *, source: str = "<routing file>") -> RoutingTable:
    """Parse a routing file's text; `source` names the file in error messages.

    Raises ConfigError as `load_routing` does.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, reason = _syntax_error(error, text)
        raise ConfigError(f"{VARIABLE}: {source} line {line}: invalid TOML: {reason}") from error
    try:
        return _table(document)
    except _Invalid as problem:
        line = _line_of(text, problem.path)
        raise ConfigError(f"{VARIABLE}: {source} line {line}: {problem.reason}") from None


# -- validation ------------------------------------------------------------------------------


class _Invalid(Exception):
    """A semantic problem at `path` (the TOML key path), found before the line is known."""

    def __init__(self, path: tuple[str, ...], reason: str):
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _table(document: Mapping[str, object]) -> RoutingTable:
    for key, value in document.items():
        if key not in ("default", "intents"):
            kind = f"table [{_key(key)}]" if isinstance(value, dict) else f"key {_key(key)!r}"
            raise _Invalid((key,), f"unknown {kind} (expected [default] and [intents.NAME] tables)")
    default = BUILT_IN.default
    if "default" in document:
        default = _route(("default",), document["default"])
    intents = document.get("intents", {})
    if not isinstance(intents, dict):
        raise _Invalid(
            ("intents",), f"intents must be a table of [intents.NAME] tables, got {_show(intents)}"
        )
    routes = {}
    for name, value in intents.items():
        if not name.strip():
            raise _Invalid(("intents", name), f"[{_header(('intents', name))}] has an empty name")
        routes[name] = _route(("intents", name), value)
    return RoutingTable(default=default, intents=routes)


def _route(path: tuple[str, ...], value: object) -> Route:
    where = f"[{_header(path)}]"
    if not isinstance(value, dict):
        raise _Invalid(path, f"{_header(path)} must be a table ({where}), got {_show(value)}")
    for key in value:
        if key not in ROUTE_KEYS:
            raise _Invalid(
                (*path, key),
                f"{where} unknown key {_key(key)!r} (expected {', '.join(ROUTE_KEYS)})",
            )
    if "group" not in value:
        raise _Invalid(path, f"{where} group is missing")
    group = value["group"]
    if not isinstance(group, str) or not group.strip():
        raise _Invalid(
            (*path, "group"), f"{where} group must be a non-empty string, got {_show(group)}"
        )
    if "priority" not in value:
        raise _Invalid(path, f"{where} priority is missing")
    priority = value["priority"]
    if priority not in PRIORITIES:
        raise _Invalid(
            (*path, "priority"),
            f"{where} priority must be one of {', '.join(PRIORITIES)}, got {_show(priority)}",
        )
    tags = value.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise _Invalid(
            (*path, "tags"), f"{where} tags must be a list of non-empty strings, got {_show(tags)}"
        )
    return Route(group=group, priority=cast(Priority, priority), tags=tuple(tags))


def _show(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(part: str) -> str:
    """One key as TOML spells it: bare when it can be, else a basic string."""
    return part if _BARE.fullmatch(part) else json.dumps(part, ensure_ascii=False)


def _header(path: Sequence[str]) -> str:
    return ".".join(_key(part) for part in path)


# -- line numbers ----------------------------------------------------------------------------

# tomllib (Python < 3.14) only puts the position in the message.
_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = re.compile(r"\s*\(at end of document\)$")


def _syntax_error(error: tomllib.TOMLDecodeError, text: str) -> tuple[int, str]:
    """The line tomllib reports, and its message without the position."""
    message = str(error)
    lineno = getattr(error, "lineno", None)  # Python 3.14+
    found = _AT_LINE.search(message)
    if found:
        message = message[: found.start()] + f" (column {found.group(2)})"
        lineno = lineno or int(found.group(1))
    elif _AT_END.search(message):
        message = _AT_END.sub(" (at the end of the file)", message)
        # The end of the document is on the last line that has anything on it.
        lineno = lineno or max(1, len(text.rstrip("\r\n").splitlines()))
    return lineno or 1, message


def _line_of(text: str, path: tuple[str, ...]) -> int:
    """The line where the key at `path` is set, else where its closest enclosing table starts.

    Handles table headers, dotted keys and quoted keys; a key set inside an inline table
    is found at the line of the inline table.
    """
    lines = list(_key_lines(text))
    for size in range(len(path), 0, -1):
        prefix = path[:size]
        for lineno, keys in lines:
            if keys[:size] == prefix:
                return lineno
    return 1


def _key_lines(text: str) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Each table header and `key = value` line, with the full key path it names."""
    table: tuple[str, ...] = ()
    closing: str | None = None  # the delimiter of a multi-line string being skipped
    for lineno, line in enumerate(text.splitlines(), start=1):
        if closing is not None:
            if closing in line:
                closing = None
            continue
        stripped = line.lstrip()
        if stripped.startswith("["):
            double = stripped.startswith("[[")
            parsed = _parse_key(stripped, 2 if double else 1)
            # The closing bracket tells a header from a line of a multi-line array.
            if parsed is not None and stripped.startswith("]]" if double else "]", parsed[1]):
                table = parsed[0]
                yield lineno, table
            continue
        parsed = _parse_key(stripped, 0)
        if parsed is None:
            continue
        keys, end = parsed
        if not stripped.startswith("=", end):
            continue
        yield lineno, (*table, *keys)
        value = stripped[end + 1 :].lstrip()
        for delimiter in ('"""', "'''"):
            if value.startswith(delimiter) and delimiter not in value[3:]:
                closing = delimiter


def _parse_key(line: str, start: int) -> tuple[tuple[str, ...], int] | None:
    """A dotted key starting at `start`: its parts and the index after it and its spaces."""
    parts: list[str] = []
    i = start
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i < len(line) and line[i] in "\"'":
            quote = line[i]
            j = i + 1
            while j < len(line) and line[j] != quote:
                j += 2 if quote == '"' and line[j] == "\\" else 1
            if j >= len(line):
                return None
            token = line[i : j + 1]
            if quote == "'":
                parts.append(token[1:-1])
            else:
                try:
                    parts.append(tomllib.loads(f"k = {token}")["k"])
                except tomllib.TOMLDecodeError:
                    return None
            i = j + 1
        else:
            bare = _BARE.match(line, i)
            if bare is None:
                return None
            parts.append(bare.group())
            i = bare.end()
        while i < len(line) and line[i] in " \t":
            i += 1
        if i < len(line) and line[i] == ".":
            i += 1
            continue
        return tuple(parts), i
