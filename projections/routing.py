"""Where a ticket goes: the routing table from a conversation's primary intent (CONTRACT section 4).

`BUILT_IN` is the contract's table. `routing_table(document)` checks a routing file's parsed
contents (what a TOML parser returns) and builds the table that replaces the built-in one;
a document of the wrong shape raises `InvalidRouting`, naming the key path at fault
(`intents.billing_problem.priority`). Reading the file is configuration's job
(`service/routing_file.py`); nothing here does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import cast

from ticketsync.events.errors import ConfigError
from ticketsync.events.tickets import PRIORITIES, Priority

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
        return self.route_and_why(intents)[0]

    def route_and_why(self, intents: Sequence[str]) -> tuple[Route, str]:
        """`route_for`, and why: the sentence that says which intent chose the route."""
        if not intents:
            return self.default, "no intent detected (the default route)"
        route = self.intents.get(intents[0])
        if route is None:
            return self.default, f"primary intent {intents[0]} has no route (the default route)"
        return route, f"primary intent {intents[0]}"


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


# -- validation ------------------------------------------------------------------------------


class InvalidRouting(ConfigError):
    """A routing document of the wrong shape: `key_path` is where, `reason` what is wrong.

    The message is the key path as TOML spells it, then the reason:
    `intents.billing_problem.priority must be one of: low, medium, high, urgent (got 'critical')`.
    """

    def __init__(self, key_path: tuple[str, ...], reason: str):
        super().__init__(f"{dotted(key_path)} {reason}")
        self.key_path = key_path
        self.reason = reason


def routing_table(document: Mapping[str, object]) -> RoutingTable:
    """The table a routing document describes: its intents, and its `[default]` or the built-in one.

    Raises InvalidRouting for the first key of the wrong shape, in document order.
    """
    for key in document:
        if key not in ("default", "intents"):
            raise InvalidRouting(
                (key,), "is not part of a routing file (it has [default] and [intents.NAME] tables)"
            )
    default = BUILT_IN.default
    if "default" in document:
        default = _route(("default",), document["default"])
    intents = document.get("intents", {})
    if not isinstance(intents, Mapping):
        raise InvalidRouting(
            ("intents",), f"must be a table of [intents.NAME] tables (got {_show(intents)})"
        )
    routes = {}
    for name, value in intents.items():
        if not name.strip():
            raise InvalidRouting(("intents", name), "is a blank intent name")
        routes[name] = _route(("intents", name), value)
    return RoutingTable(default=default, intents=routes)


def _route(path: tuple[str, ...], value: object) -> Route:
    if not isinstance(value, Mapping):
        raise InvalidRouting(path, f"must be a table with group and priority (got {_show(value)})")
    for key in value:
        if key not in ROUTE_KEYS:
            raise InvalidRouting(
                (*path, key), f"is not a route key (expected {', '.join(ROUTE_KEYS)})"
            )
    if "group" not in value:
        raise InvalidRouting((*path, "group"), "is missing")
    group = value["group"]
    if not isinstance(group, str) or not group.strip():
        raise InvalidRouting((*path, "group"), f"must be a non-empty string (got {_show(group)})")
    if "priority" not in value:
        raise InvalidRouting((*path, "priority"), "is missing")
    priority = value["priority"]
    if not isinstance(priority, str) or priority not in PRIORITIES:
        raise InvalidRouting(
            (*path, "priority"),
            f"must be one of: {', '.join(PRIORITIES)} (got {_show(priority)})",
        )
    tags = value.get("tags", [])
    if not isinstance(tags, list | tuple) or not all(
        isinstance(t, str) and t.strip() for t in tags
    ):
        raise InvalidRouting(
            (*path, "tags"), f"must be a list of non-empty strings (got {_show(tags)})"
        )
    return Route(group=group, priority=cast(Priority, priority), tags=tuple(tags))


def _show(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def dotted(key_path: Sequence[str]) -> str:
    """A key path as TOML spells it: each part bare when it can be, else a quoted string."""
    return ".".join(
        part if _BARE.fullmatch(part) else json.dumps(part, ensure_ascii=False) for part in key_path
    )
