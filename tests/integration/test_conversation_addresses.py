"""Conversation ids at the door and in addresses (docs/behaviour.md, section "Limits"): an
id no address could name is refused before anything is stored, and every accepted id is
read back over the API and the console, its `/` sent as `%2F`."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, unquote

import orjson
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.integration.conftest import AUTH
from tests.support import ADMIN_TOKEN, message, payload, signed
from ticketsync.service.http.console.pages import conversation_href

REFUSED = [
    pytest.param("dot/../seg", id="dot-dot-segment"),
    pytest.param("trail/.", id="dot-segment"),
    pytest.param("line\nbreak", id="newline"),
    pytest.param("nul\x00", id="nul"),
    pytest.param("   ", id="whitespace-only"),
    pytest.param(" padded ", id="surrounding-whitespace"),
    pytest.param("x" * 256, id="too-long"),
]
READ_BACK = [
    pytest.param("acme/conv_1001", id="slash"),
    pytest.param("foo/explain", id="slash-explain"),
    pytest.param("100%/done", id="percent"),
    pytest.param("%2F", id="an-encoded-slash-as-text"),
    pytest.param("ann smith", id="space-inside"),
    pytest.param("naïve/日本語", id="unicode"),
    pytest.param("why?", id="question-mark"),
    pytest.param("tag#1", id="hash"),
    pytest.param("a/.b/c..", id="dots-inside-segments"),
]


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as started:
        yield started


def deliver(client: TestClient, event: dict):
    body, headers = signed(orjson.dumps(event))
    return client.post("/webhooks/chat", content=body, headers=headers)


def project(app: Starlette) -> None:
    while app.state.api.container.projector.run_once():
        pass


def log_position(client: TestClient) -> int:
    return client.get("/healthz").json()["position"]


def address(conversation_id: str, suffix: str = "") -> str:
    return "/conversations/" + quote(conversation_id, safe="") + suffix


@pytest.mark.parametrize("conversation_id", REFUSED)
def test_an_id_no_address_could_name_is_refused_and_nothing_is_stored(
    app: Starlette, client: TestClient, conversation_id: str
) -> None:
    before = log_position(client)
    answer = deliver(client, message(conversation_id))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_payload"
    assert answer.json()["field"] == "data.conversation_id"
    assert log_position(client) == before
    audit = client.get("/audit", headers=AUTH).json()
    assert audit["events"] == []


@pytest.mark.parametrize("conversation_id", READ_BACK)
def test_every_accepted_id_is_read_back_over_the_api_and_the_console(
    app: Starlette, client: TestClient, conversation_id: str
) -> None:
    started = payload("conversation.started", conversation_id, customer={"id": "c1"})
    assert deliver(client, started).status_code == 202
    project(app)
    view = client.get(address(conversation_id), headers=AUTH)
    assert view.status_code == 200, view.text
    assert view.json()["conversation_id"] == conversation_id
    explained = client.get(address(conversation_id, "/explain"), headers=AUTH)
    assert explained.status_code == 200, explained.text
    assert explained.json()["conversation_id"] == conversation_id
    trail = client.get("/audit", params={"conversation_id": conversation_id}, headers=AUTH)
    assert [e["conversation_id"] for e in trail.json()["events"]] == [conversation_id]
    # The console: its own links are the addresses, and they lead to the page.
    assert client.post("/ui/sign-in", data={"token": ADMIN_TOKEN}).status_code == 303
    found = client.get("/ui/search", params={"q": conversation_id})
    assert found.status_code == 303
    href = found.headers["location"]
    assert href == conversation_href(conversation_id)
    assert "/" not in href.removeprefix("/ui/conversations/")
    page = client.get(href)
    assert page.status_code == 200, page.text
    assert "has heard nothing" not in page.text


def test_foo_explain_is_a_conversation_and_foo_slash_explain_its_explanation(
    app: Starlette, client: TestClient
) -> None:
    for cid in ("foo", "foo/explain"):
        assert deliver(client, payload("conversation.started", cid, customer={"id": cid}))
    project(app)
    assert client.get("/conversations/foo%2Fexplain", headers=AUTH).json()["customer"]["id"] == (
        "foo/explain"
    )
    explanation = client.get("/conversations/foo/explain", headers=AUTH).json()
    assert explanation["conversation_id"] == "foo"
    assert "needs_ticket" in explanation
    inner = client.get("/conversations/foo%2Fexplain/explain", headers=AUTH).json()
    assert inner["conversation_id"] == "foo/explain"
    # An unencoded slash inside an id is still read as part of it.
    assert deliver(client, payload("conversation.started", "acme/c1", customer={"id": "a"}))
    project(app)
    assert client.get("/conversations/acme/c1", headers=AUTH).json()["conversation_id"] == (
        "acme/c1"
    )


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/conversations/dot%2F..%2Fseg", id="dot-dot-segment"),
        pytest.param("/conversations/line%0Abreak", id="newline"),
        pytest.param("/conversations/%20", id="whitespace"),
        pytest.param("/conversations/%FF", id="not-utf-8"),
        pytest.param("/conversations/x%00/explain", id="nul-explained"),
    ],
)
def test_a_path_naming_an_id_that_cannot_exist_is_refused(client: TestClient, path: str) -> None:
    answer = client.get(path, headers=AUTH)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_path"
    assert answer.json()["field"] == "conversation_id"


def test_an_audit_query_for_an_id_that_cannot_exist_is_refused(client: TestClient) -> None:
    answer = client.get("/audit", params={"conversation_id": "a/../b"}, headers=AUTH)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_query"
    assert answer.json()["field"] == "conversation_id"


@pytest.mark.parametrize("conversation_id", ["foo/explain", "why?", "tag#1", "100%/x"])
def test_signing_in_returns_to_the_same_conversation(
    client: TestClient, conversation_id: str
) -> None:
    href = conversation_href(conversation_id)
    asked = client.get(href)
    assert asked.status_code == 303
    back = client.post(
        "/ui/sign-in",
        data={"token": ADMIN_TOKEN, "next": unquote(asked.headers["location"].split("next=")[1])},
    )
    assert back.headers["location"] == href
