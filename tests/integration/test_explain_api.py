"""GET /conversations/{id}/explain over the real app and store (CONTRACT section 6)."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.integration.conftest import AUTH
from tests.support import message, payload, signed


def deliver(client: TestClient, event: dict) -> None:
    body, headers = signed(orjson.dumps(event))
    assert client.post("/webhooks/chat", content=body, headers=headers).status_code == 202


def test_a_conversation_that_needs_a_ticket_says_why_and_what_waits(app: Starlette) -> None:
    cid = "team/conv_7"  # an id may hold a slash
    with TestClient(app) as client:
        deliver(client, payload("intents.detected", cid, intents=["billing_problem"]))
        deliver(client, message(cid, content="I was charged twice"))
        deliver(client, payload("conversation.escalated", cid, reason="customer asked for a human"))
        while app.state.api.container.projector.run_once():
            pass
        answer = client.get(f"/conversations/{cid}/explain", headers=AUTH)
    assert answer.status_code == 200
    assert answer.json() == {
        "conversation_id": cid,
        "needs_ticket": True,
        "reasons": [
            "ticket requested because the conversation was escalated: customer asked for a human",
            "the ticket is being created",
        ],
        "route": {
            "group": "Billing Team",
            "priority": "high",
            "tags": ["billing", "urgent", "billing_problem"],
            "because": "Billing Team, high: primary intent billing_problem",
        },
        "pending": ["create_ticket, not tried yet, due now"],
        "control": (
            "people answer the customer: the conversation was escalated; the AI agent stays quiet"
        ),
    }


def test_one_that_needs_none_names_every_rules_figures(app: Starlette) -> None:
    with TestClient(app) as client:
        deliver(client, message("conv_8", content="hi"))
        while app.state.api.container.projector.run_once():
            pass
        body = client.get("/conversations/conv_8/explain", headers=AUTH).json()
    assert body["needs_ticket"] is False
    assert body["reasons"] == [
        "no ticket: not escalated, 1 user message (a ticket needs more than 3), no tool run"
    ]
    assert body["pending"] == []


def test_an_unknown_conversation_is_a_404_with_the_usual_error(app: Starlette) -> None:
    with TestClient(app) as client:
        answer = client.get("/conversations/nobody/explain", headers=AUTH)
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"
        assert client.get("/conversations/nobody/explain").status_code == 401
