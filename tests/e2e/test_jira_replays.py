"""Jira deliveries replayed under a new identifier, and delivered out of order, against a real
`ticketsync serve` and the Jira emulator (docs/behaviour.md, "Limits").

Jira signs the body only (`X-Hub-Signature`); its dedup header
`X-Atlassian-Webhook-Identifier` is not signed, so whoever captured a delivery can send it
again under any identifier. The answer chosen for such a replay: `200 {"status":
"duplicate", "event_id": <the new identifier>, "position": <the first delivery's>}`, and
nothing is stored. A change older than one already applied (Jira's retries reorder
deliveries) is stored and answered `202`, and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.emulators.chat_receiver import ChatReceiver
from tests.emulators.chat_receiver import serve as serve_chat
from tests.emulators.jira import JiraEmulator
from tests.emulators.jira import serve as serve_jira
from tests.support import CHAT_SECRET, Server, message, payload, running, signed, wait_until
from ticketsync.adapters.jira import signature as jira_signature

JIRA_SECRET = "jira-replay-secret"
IDENTIFIER = "X-Atlassian-Webhook-Identifier"
FAST_OUTBOX = {
    "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
    "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.3",
    "TICKETSYNC_HTTP_TIMEOUT": "2",
}
Captured = tuple[bytes, dict[str, str]]


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraEmulator]:
    emulator = JiraEmulator(
        email="sync@example.com", api_token="jira-token", webhook_secret=JIRA_SECRET
    )
    with serve_jira(emulator) as url:
        emulator.url = url  # type: ignore[attr-defined]
        yield emulator


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[ChatReceiver, str]]:
    receiver = ChatReceiver(CHAT_SECRET)
    with serve_chat(receiver) as url:
        yield receiver, url


@pytest.fixture(scope="module")
def server(jira: JiraEmulator, chat, database) -> Iterator[Server]:
    url, folder = database
    env = {
        "TICKETSYNC_TICKETING": "jira",
        "TICKETSYNC_JIRA_URL": jira.url,  # type: ignore[attr-defined]
        "TICKETSYNC_JIRA_EMAIL": jira.email,
        "TICKETSYNC_JIRA_API_TOKEN": jira.api_token,
        "TICKETSYNC_JIRA_PROJECT": jira.project,
        "TICKETSYNC_JIRA_WEBHOOK_SECRET": JIRA_SECRET,
        "TICKETSYNC_CHAT_REPLY_URL": chat[1],
        "TICKETSYNC_CHAT_REPLY_SECRET": CHAT_SECRET,
        **FAST_OUTBOX,
    }
    with running(url, folder, env=env) as started:
        yield started


def deliver(server: Server, captured: Captured, identifier: str | None = None) -> httpx.Response:
    body, headers = captured
    if identifier is not None:
        headers = {**headers, IDENTIFIER: identifier}
    return httpx.post(server.url + "/webhooks/jira", content=body, headers=headers)


def pump(server: Server, jira: JiraEmulator) -> None:
    """Deliver what Jira sent since the last pump (ticketsync's own changes, as echoes)."""
    for captured in jira.deliveries():
        assert deliver(server, captured).status_code in (200, 202)


def agent(jira: JiraEmulator, key: str, **act: Any) -> Captured:
    """A person's change on the Jira side, and the one delivery Jira makes of it."""
    jira.act_as_agent(key, **act)
    [captured] = jira.deliveries()
    return captured


def conversation(server: Server, cid: str) -> dict[str, Any]:
    with server.admin() as admin:
        return admin.get(f"/conversations/{cid}").json()


def send_chat(server: Server, event: dict[str, Any]) -> None:
    body, headers = signed(event)
    answer = httpx.post(server.url + "/webhooks/chat", content=body, headers=headers)
    assert answer.status_code == 202


def ticketed(server: Server, jira: JiraEmulator) -> tuple[str, str]:
    """A conversation escalated into a Jira issue, once every call it asked for is done."""
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    customer = {"id": "u1", "email": f"{cid}@example.com", "name": "Ann"}
    send_chat(server, payload("conversation.started", cid, customer=customer, subject="Refund"))
    send_chat(server, message(cid, content="Please refund the second charge."))
    send_chat(server, payload("conversation.escalated", cid, reason="refund"))

    def settled() -> dict[str, Any] | None:
        pump(server, jira)
        view = conversation(server, cid)
        return view if view["ticket"] and view["pending_calls"] == 0 else None

    view = wait_until(settled, timeout=20)
    pump(server, jira)
    return cid, view["ticket"]["id"]


def signed_update(jira: JiraEmulator, like: Captured, change_id: int, item: dict) -> Captured:
    """An update Jira would send for a field the emulator has no agent action for."""
    payload = orjson.loads(like[0])
    payload["changelog"] = {"id": str(change_id), "items": [item]}
    body = orjson.dumps(payload)
    headers = jira_signature.signed_headers(JIRA_SECRET, body, identifier=uuid.uuid4().hex)
    return body, {**headers, "Content-Type": "application/json"}


def priority_item(before: str, after: str) -> dict[str, str]:
    return {"field": "priority", "fieldId": "priority", "fromString": before, "toString": after}


def replies(receiver: ChatReceiver, cid: str) -> list[str]:
    return [
        d.json["data"]["body"]
        for d in receiver.deliveries()
        if d.json["type"] == "agent.replied" and d.json["data"]["conversation_id"] == cid
    ]


def test_a_captured_status_change_and_comment_replayed_under_new_ids_change_nothing(
    server: Server, jira: JiraEmulator, chat
) -> None:
    receiver, _ = chat
    cid, key = ticketed(server, jira)
    solved = agent(jira, key, status="Done")
    assert deliver(server, solved).status_code == 202
    wait_until(lambda: conversation(server, cid)["status"] == "resolved_by_agent")
    reopened = agent(jira, key, status="In Progress")
    assert deliver(server, reopened).status_code == 202
    urgent = signed_update(jira, reopened, 90_001, priority_item("Medium", "Highest"))
    lowered = signed_update(jira, reopened, 90_002, priority_item("Highest", "Low"))
    assert [deliver(server, c).status_code for c in (urgent, lowered)] == [202, 202]
    reply = agent(jira, key, comment="We refunded the second charge.")
    first = deliver(server, reply)
    assert first.status_code == 202
    wait_until(lambda: replies(receiver, cid) == ["We refunded the second charge."], timeout=15)
    before = conversation(server, cid)
    assert (before["status"], before["ticket"]["status"], before["ticket"]["priority"]) == (
        "with_agent",
        "In Progress",
        "low",
    )
    with server.admin() as admin:
        trail = admin.get("/audit", params={"ticket": f"jira:{key}"}).json()["events"]
    stored_at = {e["id"]: e["position"] for e in trail}

    for name, captured in (("solved", solved), ("urgent", urgent), ("reply", reply)):
        identifier = f"replayed-{uuid.uuid4().hex}"
        answer = deliver(server, captured, identifier)
        first_position = stored_at[captured[1][IDENTIFIER]]
        assert (answer.status_code, answer.json()) == (
            200,
            {"status": "duplicate", "event_id": identifier, "position": first_position},
        ), name
        # Jira's own retry of the first delivery is still a duplicate of it.
        assert deliver(server, captured).json()["status"] == "duplicate"

    # The first delivery's identifier with another (signed) body is a conflict, as ever.
    other = deliver(server, (urgent[0], {**urgent[1], IDENTIFIER: solved[1][IDENTIFIER]}))
    assert (other.status_code, other.json()["error"]) == (409, "conflict")

    # A later reply: once it reaches the chat, everything before it was projected.
    marker = agent(jira, key, comment="Anything else?")
    assert deliver(server, marker).status_code == 202
    wait_until(lambda: len(replies(receiver, cid)) >= 2, timeout=15)
    assert replies(receiver, cid) == ["We refunded the second charge.", "Anything else?"]
    after = conversation(server, cid)
    assert (after["status"], after["ticket"]["status"], after["ticket"]["priority"]) == (
        "with_agent",
        "In Progress",
        "low",
    )
    with server.admin() as admin:
        trail = admin.get("/audit", params={"ticket": f"jira:{key}"}).json()["events"]
    assert not [e for e in trail if e["id"].startswith("replayed-")]


def test_an_older_status_change_delivered_after_a_newer_one_is_not_applied(
    server: Server, jira: JiraEmulator
) -> None:
    cid, key = ticketed(server, jira)
    solved = agent(jira, key, status="Done")
    reopened = agent(jira, key, status="In Progress")
    # Jira retried the first delivery, and the retry arrived after the second one.
    assert deliver(server, reopened).status_code == 202
    wait_until(lambda: conversation(server, cid)["status"] == "with_agent")
    assert deliver(server, solved).status_code == 202
    # A later priority change (another field): once it shows, the late status was projected.
    lowered = signed_update(jira, reopened, 90_101, priority_item("Medium", "Low"))
    assert deliver(server, lowered).status_code == 202
    wait_until(lambda: conversation(server, cid)["ticket"]["priority"] == "low")
    view = conversation(server, cid)
    assert (view["status"], view["ticket"]["status"]) == ("with_agent", "In Progress")
