"""The read API refuses query parameters it does not know (CONTRACT section 6).

Every GET route the app serves, dev routes included, is tried, so a route added later is
covered without a line here.
"""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.integration.conftest import AUTH
from ticketsync.service.queries import audit


def read_paths(app: Starlette) -> list[str]:
    """A concrete path for every GET route (each path parameter filled in)."""
    paths = []
    for route in app.routes:
        assert isinstance(route, Route)
        if "GET" in (route.methods or set()):
            paths.append(re.sub(r"\{[^}]+\}", "x", route.path))
    return paths


def test_every_read_endpoint_refuses_an_unknown_parameter(app: Starlette) -> None:
    client = TestClient(app)
    paths = read_paths(app)
    assert {"/audit", "/outbox", "/healthz", "/metrics", "/openapi.json"} <= set(paths)
    for path in paths:
        answer = client.get(path, params={"bogus": "1"}, headers=AUTH)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["error"] == "invalid_query", path
        assert answer.json()["field"] == "bogus", path


def test_a_typo_never_widens_the_audit_query(app: Starlette) -> None:
    answer = TestClient(app).get("/audit", params={"conversation": "conv_42"}, headers=AUTH)
    assert answer.status_code == 400
    assert answer.json()["field"] == "conversation"
    assert "conversation_id" in answer.json()["detail"]


@pytest.mark.parametrize(
    "path, query, field",
    [
        ("/audit", "conversation_id=a&conversation_id=b", "conversation_id"),
        ("/audit", "limit=5&limit=5", "limit"),
        ("/outbox", "state=parked&state=done", "state"),
        ("/dev/chat-replies", "conversation_id=a&conversation_id=b", "conversation_id"),
    ],
)
def test_a_parameter_given_twice_is_refused(
    app: Starlette, path: str, query: str, field: str
) -> None:
    answer = TestClient(app).get(f"{path}?{query}", headers=AUTH)
    assert answer.status_code == 400
    assert (answer.json()["error"], answer.json()["field"]) == ("invalid_query", field)


def test_the_token_is_asked_for_before_the_query_is_read(app: Starlette) -> None:
    answer = TestClient(app).get("/audit", params={"bogus": "1"})
    assert answer.status_code == 401


def test_known_parameters_still_answer(app: Starlette) -> None:
    client = TestClient(app)
    assert client.get("/audit", params={"limit": "5"}, headers=AUTH).status_code == 200
    assert client.get("/outbox", params={"state": "parked"}, headers=AUTH).status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "path, name",
    [("/audit", name) for name in audit.FILTERS]
    + [("/outbox", "state"), ("/dev/chat-replies", "conversation_id")],
)
def test_an_empty_filter_is_refused_not_taken_as_absent(
    app: Starlette, path: str, name: str
) -> None:
    answer = TestClient(app).get(f"{path}?{name}=", headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert (answer.json()["error"], answer.json()["field"]) == ("invalid_query", name)


@pytest.mark.parametrize("name", audit.FILTERS)
def test_the_audit_parser_refuses_an_empty_filter_too(name: str) -> None:
    # `ticketsync audit` reads through the same parser, past the HTTP check.
    with pytest.raises(audit.BadQuery) as refused:
        audit.query_from({name: ""})
    assert refused.value.field == name
