"""Unknown query parameters are refused `400 invalid_query` on every endpoint, POST and
PATCH too, the webhook targets included (docs/behaviour.md, section "Limits"), and the
refusal stores nothing: a parameter no endpoint reads must not look as if it were read."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.integration.conftest import AUTH
from tests.support import message, signed


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as started:
        yield started


def position(client: TestClient) -> int:
    return client.get("/healthz").json()["position"]


def signed_delivery() -> tuple[bytes, dict[str, str]]:
    return signed(orjson.dumps(message("conv_q")))


WRITES = [
    pytest.param("POST", "/tickets/local/1/comments", {"author": "a", "body": "b"}, id="comment"),
    pytest.param("PATCH", "/tickets/local/1", {"status": "solved"}, id="change"),
    pytest.param("POST", "/admin/rebuild", {"projections": ["conversations"]}, id="rebuild"),
    pytest.param("POST", "/outbox/call_1/retry", None, id="retry"),
]


@pytest.mark.parametrize("method, path, body", WRITES)
def test_a_post_or_patch_with_a_query_parameter_is_refused(
    client: TestClient, method: str, path: str, body: object
) -> None:
    before = position(client)
    answer = client.request(method, path, params={"dry_run": "1"}, json=body, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_query"
    assert answer.json()["field"] == "dry_run"
    assert position(client) == before


@pytest.mark.parametrize("method, path, body", WRITES)
def test_the_token_is_asked_for_first(
    client: TestClient, method: str, path: str, body: object
) -> None:
    answer = client.request(method, path, params={"dry_run": "1"}, json=body)
    assert answer.status_code == 401


def test_a_rebuild_asked_with_a_query_parameter_is_not_started(
    app: Starlette, client: TestClient
) -> None:
    answer = client.post("/admin/rebuild?check=true", headers=AUTH)
    assert answer.status_code == 400
    assert app.state.api.rebuilds == {}


@pytest.mark.parametrize(
    "query, field",
    [
        pytest.param("?token=abc", "token", id="one"),
        pytest.param("?a=1&b=2", "a", id="the-first-named"),
        pytest.param("?flag", "flag", id="bare"),
        pytest.param("?x%20y=1", "x y", id="encoded"),
    ],
)
def test_a_signed_chat_delivery_to_an_address_with_a_query_is_refused_and_not_stored(
    client: TestClient, query: str, field: str
) -> None:
    before = position(client)
    body, headers = signed_delivery()
    answer = client.post("/webhooks/chat" + query, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_query",
        "detail": f"unknown query parameter {field!r}; it takes none",
        "field": field,
    }
    assert position(client) == before
    # The same delivery at the address it was given is taken.
    assert client.post("/webhooks/chat", content=body, headers=headers).status_code == 202


@pytest.mark.parametrize("path", ["/webhooks/zendesk", "/webhooks/jira"])
def test_the_help_desk_targets_refuse_a_query_too(client: TestClient, path: str) -> None:
    answer = client.post(
        path + "?source=prod", content=b"{}", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "source"


def test_the_index_refuses_an_unknown_parameter_as_documented(client: TestClient) -> None:
    from ticketsync.service.http.openapi import SPEC

    assert client.get("/?x=1").status_code == 400
    assert "400" in SPEC["paths"]["/"]["get"]["responses"]
