"""The routing table: built-in routes, tags, and routing files with their errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ticketsync.events.errors import ConfigError
from ticketsync.projections.routing import (
    BUILT_IN,
    InvalidRouting,
    Route,
    RoutingTable,
    routing_table,
    ticket_tags,
)
from ticketsync.service.routing_file import load_routing, parse_routing


def route(group: str = "Support Tier 1", priority="medium", tags=("unclassified",)) -> Route:
    return Route(group=group, priority=priority, tags=tuple(tags))


def write(tmp_path: Path, text: str, name: str = "routes.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


DEFAULT = route()

BUILT_IN_CASES = [
    pytest.param(
        ("billing_problem",), route("Billing Team", "high", ("billing", "urgent")), id="billing"
    ),
    pytest.param(("bug_report",), route("Engineering", "high", ("bug", "engineering")), id="bug"),
    pytest.param(
        ("feature_request",),
        route("Product", "low", ("feature-request", "product")),
        id="feature",
    ),
    pytest.param(
        ("usage_help",),
        route("Support Tier 2", "medium", ("documentation", "help")),
        id="usage",
    ),
    pytest.param(
        ("cancellation_intent",),
        route("Retention", "urgent", ("churn", "cancellation")),
        id="cancellation",
    ),
    pytest.param(
        ("security_report",),
        route("Security", "urgent", ("security", "compliance")),
        id="security",
    ),
    pytest.param((), DEFAULT, id="no-intent-default"),
    pytest.param(("weather_chat",), DEFAULT, id="unknown-intent-default"),
    pytest.param(("Billing_Problem",), DEFAULT, id="names-are-case-sensitive"),
    pytest.param(
        ("feature_request", "billing_problem"),
        route("Product", "low", ("feature-request", "product")),
        id="primary-intent-wins",
    ),
    pytest.param(("weather_chat", "billing_problem"), DEFAULT, id="unknown-primary-no-fallback"),
]


@pytest.mark.parametrize("intents, expected", BUILT_IN_CASES)
def test_built_in_routes(intents, expected) -> None:
    assert BUILT_IN.route_for(intents) == expected


def test_built_in_has_exactly_the_contract_intents() -> None:
    assert tuple(BUILT_IN.intents) == (
        "billing_problem",
        "bug_report",
        "feature_request",
        "usage_help",
        "cancellation_intent",
        "security_report",
    )


def test_table_cannot_be_changed_through_the_callers_dict() -> None:
    intents = {"a": route("A")}
    table = RoutingTable(default=DEFAULT, intents=intents)
    intents["b"] = route("B")
    assert "b" not in table.intents
    with pytest.raises(TypeError):
        table.intents["c"] = route("C")  # type: ignore[index]
    assert hash(table) == hash(RoutingTable(default=DEFAULT, intents={"a": route("A")}))


TAG_CASES = [
    pytest.param(route(tags=("billing", "urgent")), (), ("billing", "urgent"), id="no-intents"),
    pytest.param(
        route(tags=("billing", "urgent")),
        ("billing_problem", "cancellation_intent"),
        ("billing", "urgent", "billing_problem", "cancellation_intent"),
        id="route-tags-then-intents",
    ),
    pytest.param(
        route(tags=("billing", "urgent")),
        ("urgent", "billing_problem", "billing_problem"),
        ("billing", "urgent", "billing_problem"),
        id="no-duplicates",
    ),
    pytest.param(route(tags=()), ("b", "a"), ("b", "a"), id="intent-order-kept"),
    pytest.param(route(tags=("x",)), ("", "  ", "y"), ("x", "y"), id="blank-intents-skipped"),
]


@pytest.mark.parametrize("given_route, intents, expected", TAG_CASES)
def test_ticket_tags(given_route, intents, expected) -> None:
    assert ticket_tags(given_route, intents) == expected


def test_file_replaces_the_table_and_keeps_the_built_in_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # Our own routes.
        [intents.billing_problem]
        group = "Finance"
        priority = "urgent"
        tags = ["money"]

        [intents."refund request"]
        group = "Finance"
        priority = "low"
        """,
    )
    table = load_routing(path)
    assert table == RoutingTable(
        default=BUILT_IN.default,
        intents={
            "billing_problem": route("Finance", "urgent", ("money",)),
            "refund request": route("Finance", "low", ()),
        },
    )
    assert table.route_for(["bug_report"]) == BUILT_IN.default


def test_file_default_replaces_the_built_in_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [default]
        group = "Triage"
        priority = "low"
        tags = ["triage"]

        [intents]
        bug_report = { group = "Engineering", priority = "high", tags = ["bug"] }
        """,
    )
    table = load_routing(str(path))
    assert table.default == route("Triage", "low", ("triage",))
    assert table.route_for(["bug_report"]) == route("Engineering", "high", ("bug",))
    assert table.route_for(["billing_problem"]) == route("Triage", "low", ("triage",))


def test_empty_file_routes_everything_to_the_default(tmp_path: Path) -> None:
    table = load_routing(write(tmp_path, ""))
    assert table == RoutingTable(default=BUILT_IN.default, intents={})


GOOD = """
        [intents.billing_problem]
        group = "Billing Team"
        priority = "high"
        tags = ["billing"]
        """

BAD_FILES = [
    pytest.param(
        """
        [intents.billing_problem]
        group = "Billing Team"
        priority = high
        """,
        "invalid TOML: Invalid value (at line 3, column 12)",
        id="syntax-error",
    ),
    pytest.param(
        """
        [intents.billing_problem]
        group = "Billing Team"
        tags = ["billing",
        """,
        "invalid TOML: Invalid value (at end of document)",
        id="syntax-error-at-end",
    ),
    pytest.param(
        """
        [default]
        group = "Support Tier 1"
        priority = "medium"

        [intents.bug_report]
        group = "Engineering"
        priority = "critical"
        """,
        "intents.bug_report.priority must be one of: low, medium, high, urgent (got 'critical')",
        id="bad-priority",
    ),
    pytest.param(
        """
        [intents.bug_report]
        group = "Engineering"
        priority = 3
        """,
        "intents.bug_report.priority must be one of: low, medium, high, urgent (got 3)",
        id="priority-not-a-string",
    ),
    pytest.param(
        GOOD
        + """
        [intents.bug_report]
        priority = "high"
        """,
        "intents.bug_report.group is missing",
        id="missing-group",
    ),
    pytest.param(
        """
        [intents.bug_report]
        group = "   "
        priority = "high"
        """,
        "intents.bug_report.group must be a non-empty string (got '   ')",
        id="blank-group",
    ),
    pytest.param(
        """
        [default]
        group = "Support Tier 1"
        """,
        "default.priority is missing",
        id="incomplete-default",
    ),
    pytest.param(
        """
        [intents.bug_report]
        group = "Engineering"
        priority = "high"
        tags = "bug"
        """,
        "intents.bug_report.tags must be a list of non-empty strings (got 'bug')",
        id="tags-not-a-list",
    ),
    pytest.param(
        """
        [intents.bug_report]
        group = "Engineering"
        priority = "high"
        tags = [
            "bug",
            1,
        ]
        """,
        "intents.bug_report.tags must be a list of non-empty strings (got ['bug', 1])",
        id="tags-not-all-strings",
    ),
    pytest.param(
        GOOD
        + """
        [intents.bug_report]
        group = "Engineering"
        prioirty = "high"
        """,
        "intents.bug_report.prioirty is not a route key (expected group, priority, tags)",
        id="unknown-key",
    ),
    pytest.param(
        """
        [intents]
        bug_report = { group = "Engineering", priority = "hihg" }
        """,
        "intents.bug_report.priority must be one of: low, medium, high, urgent (got 'hihg')",
        id="inline-table-bad-priority",
    ),
    pytest.param(
        """
        intents.bug_report.group = "Engineering"
        intents.bug_report.priority = "high"
        intents.bug_report.tags = [true]
        """,
        "intents.bug_report.tags must be a list of non-empty strings (got [True])",
        id="dotted-keys",
    ),
    pytest.param(
        GOOD
        + """
        [intent.bug_report]
        group = "Engineering"
        priority = "high"
        """,
        "intent is not part of a routing file (it has [default] and [intents.NAME] tables)",
        id="unknown-top-level-table",
    ),
    pytest.param(
        """
        group = "Support Tier 1"

        [intents.bug_report]
        group = "Engineering"
        priority = "high"
        """,
        "group is not part of a routing file (it has [default] and [intents.NAME] tables)",
        id="unknown-top-level-key",
    ),
    pytest.param(
        """
        [intents]
        timeout = 30
        """,
        "intents.timeout must be a table with group and priority (got 30)",
        id="intent-not-a-table",
    ),
    pytest.param(
        """
        [intents."a.b"]
        group = "G"
        priority = "high"
        colour = "red"
        """,
        """intents."a.b".colour is not a route key (expected group, priority, tags)""",
        id="quoted-intent-name",
    ),
    pytest.param(
        '''
        [intents.bug_report]
        group = """
        [intents.other]
        priority = "x"
        """
        priority = "nope"
        ''',
        "intents.bug_report.priority must be one of: low, medium, high, urgent (got 'nope')",
        id="multi-line-string-not-mistaken-for-keys",
    ),
]


@pytest.mark.parametrize("text, expected", BAD_FILES)
def test_bad_file_names_file_key_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert str(caught.value) == f"TICKETSYNC_ROUTING_FILE: {path}: {expected}"


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match=r"^TICKETSYNC_ROUTING_FILE: ") as caught:
        load_routing(path)
    assert str(path) in str(caught.value)
    assert "No such file" in str(caught.value)


def test_directory_is_not_readable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^TICKETSYNC_ROUTING_FILE: .*: cannot be read: "):
        load_routing(tmp_path)


def test_file_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_bytes(b'[default]\ngroup = "Caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"routes\.toml: not valid UTF-8 \(at line 2\)$"):
        load_routing(path)


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_bytes(b"\xef\xbb\xbf" + textwrap.dedent(GOOD).encode())
    assert tuple(load_routing(path).intents) == ("billing_problem",)


def test_parse_routing_names_the_source() -> None:
    with pytest.raises(
        ConfigError, match=r"^TICKETSYNC_ROUTING_FILE: routes\.toml: invalid TOML: "
    ):
        parse_routing("nonsense", source="routes.toml")


DOCUMENT_CASES = [
    pytest.param({"intents": {" ": {}}}, ("intents", " "), id="blank-intent-name"),
    pytest.param({"intents": []}, ("intents",), id="intents-not-a-table"),
    pytest.param({"default": "x"}, ("default",), id="default-not-a-table"),
    pytest.param(
        {"intents": {"a": {"group": "G", "priority": ["high"]}}},
        ("intents", "a", "priority"),
        id="priority-unhashable",
    ),
]


@pytest.mark.parametrize("document, key_path", DOCUMENT_CASES)
def test_wrong_document_names_the_key_path(document, key_path) -> None:
    with pytest.raises(InvalidRouting) as caught:
        routing_table(document)
    assert caught.value.key_path == key_path
    assert isinstance(caught.value, ConfigError)


def test_key_path_is_spelled_as_toml_spells_it() -> None:
    with pytest.raises(InvalidRouting) as caught:
        routing_table({"intents": {"refund request": {"group": "G"}}})
    assert str(caught.value) == 'intents."refund request".priority is missing'
