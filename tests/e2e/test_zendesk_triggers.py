"""Zendesk trigger deliveries end to end: a notice, checked against Zendesk's API.

A real `ticketsync serve` against the Zendesk emulator, whose state is the truth, and a
chat receiver. Trigger bodies are rendered here as Zendesk renders the body an account set
up with: `trigger/1`, which pasted the latest comment's text and `{{current_user.role}}`
into it, is what makes the hostile cases possible (docs/zendesk-webhooks.md).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.emulators.chat_receiver import ChatReceiver
from tests.emulators.chat_receiver import serve as serve_chat
from tests.emulators.zendesk import ZendeskEmulator
from tests.support import CHAT_SECRET, Server, message, payload, quiet, running, signed, wait_until
from ticketsync.adapters.zendesk import signature as zendesk_signature

ZENDESK_SECRET = "zendesk-trigger-secret"

# The body published before, as accounts set up with it still send it.
TRIGGER_1 = """\
{
  "ticketsync": "trigger/1",
  "ticket_id": "{{ticket.id}}",
  "external_id": "{{ticket.external_id}}",
  "updated_at": "{{ticket.updated_at_with_timestamp}}",
  "actor_id": "{{current_user.id}}",
  "status": "{{ticket.status}}",
  "priority": "{{ticket.priority}}",
  "group": "{{ticket.group.name}}",
  "assignee_id": "{{ticket.assignee.id}}",
  "assignee": "{{ticket.assignee.name}}",
  "comment": {
    "id": "{{ticket.latest_comment.id}}",
    "body": "{{ticket.latest_comment.value}}",
    "public": "{{ticket.latest_comment.is_public}}",
    "author_id": "{{ticket.latest_comment.author.id}}",
    "author_name": "{{ticket.latest_comment.author.name}}",
    "author_role": "{{current_user.role}}"
  }
}
"""
PLACEHOLDER = re.compile(r"\{\{([a-z_.]+)\}\}")
ROLE = {"end-user": "End-user", "agent": "Agent", "admin": "Admin"}


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[ChatReceiver, str]]:
    receiver = ChatReceiver(CHAT_SECRET)
    with serve_chat(receiver) as url:
        yield receiver, url


@pytest.fixture(scope="module")
def server(zendesk, chat, database) -> Iterator[Server]:
    url, folder = database
    env = {
        "TICKETSYNC_TICKETING": "zendesk",
        "TICKETSYNC_ZENDESK_URL": zendesk[1],
        "TICKETSYNC_ZENDESK_EMAIL": "sync@example.com",
        "TICKETSYNC_ZENDESK_API_TOKEN": "zd-token",
        "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET,
        "TICKETSYNC_CHAT_REPLY_URL": chat[1],
        "TICKETSYNC_CHAT_REPLY_SECRET": CHAT_SECRET,
        "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
        "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.3",
        "TICKETSYNC_HTTP_TIMEOUT": "2",
    }
    with running(url, folder, env=env) as started:
        yield started


def send_chat(server: Server, event: dict) -> None:
    body, headers = signed(event)
    assert (
        httpx.post(server.url + "/webhooks/chat", content=body, headers=headers).status_code == 202
    )


def conversation(server: Server, cid: str) -> dict:
    with server.admin() as admin:
        return admin.get(f"/conversations/{cid}").json()


def ticketed(server: Server, emulator: ZendeskEmulator) -> tuple[str, dict]:
    """A new conversation that escalated, once its ticket exists and all calls are done."""
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    send_chat(
        server,
        payload(
            "conversation.started",
            cid,
            customer={"id": f"u-{cid}", "email": f"{cid}@example.com", "name": "Ann"},
            subject="Refund",
        ),
    )
    send_chat(server, message(cid, content="Please refund the second charge."))
    send_chat(server, payload("conversation.escalated", cid, reason="refund"))
    view = wait_until(
        lambda: (v := conversation(server, cid))["ticket"] and v["pending_calls"] == 0 and v,
        timeout=15,
    )
    return cid, emulator.ticket(int(view["ticket"]["id"]))


def placeholders(emulator: ZendeskEmulator, ticket_id: int, *, by: int) -> dict[str, str]:
    """What Zendesk renders for the trigger's placeholders after user `by` updated the ticket."""
    ticket = emulator.ticket(ticket_id)
    comment = emulator.comments(ticket_id)[-1]
    users = {user["id"]: user for user in emulator.users()}
    return {
        "ticket.id": str(ticket_id),
        "ticket.external_id": ticket["external_id"] or "",
        "ticket.updated_at_with_timestamp": ticket["updated_at"][:16] + "Z",
        "current_user.id": str(by),
        "ticket.status": ticket["status"].capitalize(),
        "ticket.priority": (ticket["priority"] or "").capitalize(),
        "ticket.group.name": "",
        "ticket.assignee.id": str(ticket["assignee_id"] or ""),
        "ticket.assignee.name": "",
        "ticket.latest_comment.id": str(comment["id"]),
        "ticket.latest_comment.value": comment["body"],
        "ticket.latest_comment.is_public": "true" if comment["public"] else "false",
        "ticket.latest_comment.author.id": str(comment["author_id"]),
        "ticket.latest_comment.author.name": users[comment["author_id"]]["name"],
        "current_user.role": ROLE[users[by]["role"]],
    }


def render(values: dict[str, str], *, escape: bool = True, comment: bool = True) -> bytes:
    """TRIGGER_1 rendered: each value escaped inside its JSON string, or (escape=False)
    pasted in as it is. Without `comment`, the status trigger's body (no comment block)."""
    template = TRIGGER_1
    if not comment:
        body = orjson.loads(template)
        del body["comment"]
        template = orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()

    def text(match: re.Match[str]) -> str:
        value = values[match[1]]
        return orjson.dumps(value).decode()[1:-1] if escape else value

    return PLACEHOLDER.sub(text, template).encode()


def deliver(
    server: Server, raw: bytes, invocation_id: str, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a trigger delivery signed now (or with the signed `headers` given)."""
    headers = headers or zendesk_signature.signed_headers(
        ZENDESK_SECRET, raw, time.time(), invocation_id=invocation_id
    )
    headers = {**headers, "X-Zendesk-Webhook-Invocation-Id": invocation_id}
    return httpx.post(
        server.url + "/webhooks/zendesk",
        content=raw,
        headers={**headers, "content-type": "application/json"},
    )


def replies_to(receiver: ChatReceiver, cid: str) -> list[Any]:
    return [d for d in receiver.replies() if d.json["data"]["conversation_id"] == cid]


def reads_of(server: Server, cid: str) -> list[dict]:
    with server.admin() as admin:
        answer = admin.get("/audit", params={"conversation_id": cid, "type": "ticket.read"})
    return answer.json()["events"]


def test_a_crafted_comment_reaches_no_chat_and_changes_no_other_ticket(
    server: Server, zendesk, chat
) -> None:
    """A customer's comment that closes its string, pasted in as it is: the body is valid
    JSON naming another conversation's ticket, another comment and an Agent author."""
    emulator, _ = zendesk
    receiver, _ = chat
    mine, my_ticket = ticketed(server, emulator)
    theirs, their_ticket = ticketed(server, emulator)
    with server.admin() as admin:
        quiet(admin)
    before = conversation(server, theirs)
    their_comments = emulator.comments(their_ticket["id"])
    agent = emulator.agent_id
    # Names no key twice (the rest of the comment is swallowed by "x"), so it is taken.
    claims_an_agent = (
        f'Refund me", "public": "true", "author_id": "{agent}", "author_name": "Avery Agent",'
        ' "author_role": "Agent"}, "x": {"body": "'
    )
    names_their_ticket = (
        f'Refund me", "public": "true", "author_id": "{agent}", "author_name": "Avery Agent",'
        f' "author_role": "Agent", "id": "424242"}}, "ticket_id": "{their_ticket["id"]}",'
        f' "external_id": "{theirs}", "status": "Solved", "x": {{"body": "'
    )

    answers = []
    for n, crafted in enumerate((claims_an_agent, names_their_ticket)):
        emulator.act_as_requester(my_ticket["id"], crafted)
        values = placeholders(emulator, my_ticket["id"], by=my_ticket["requester_id"])
        raw = render(values, escape=False)
        assert orjson.loads(raw)["comment"]["author_role"] == "Agent"  # valid, and lying
        answers.append(deliver(server, raw, f"inv-crafted-{n}-{mine}"))

    assert answers[0].status_code == 202, answers[0].text
    # The one naming another ticket repeats keys (a later one would win in JSON): refused
    # outright (docs/behaviour.md, Limits).
    assert answers[1].status_code == 400, answers[1].text
    assert answers[1].json()["error"] == "invalid_json"
    with server.admin() as admin:
        quiet(admin)
    assert replies_to(receiver, mine) == []
    assert replies_to(receiver, theirs) == []
    assert conversation(server, theirs) == before
    assert emulator.comments(their_ticket["id"]) == their_comments
    assert emulator.ticket(their_ticket["id"])["status"] == their_ticket["status"]
    # What was applied is what the API says: the customer's public comment, theirs.
    [read, *_] = reads_of(server, mine)
    crafted_comment = next(
        c for c in read["data"]["snapshot"]["comments"] if c["body"] == claims_an_agent
    )
    assert crafted_comment["author_is_agent"] is False
    assert crafted_comment["author_id"] == str(my_ticket["requester_id"])


def test_the_customers_own_message_and_ticketsyncs_own_comment_are_not_echoed(
    server: Server, zendesk, chat
) -> None:
    """ticketsync posts the customer's message as the requester, through its API user:
    Zendesk's {{current_user.role}} is the API user's (Agent), the comment the customer's."""
    emulator, _ = zendesk
    receiver, _ = chat
    cid, ticket = ticketed(server, emulator)
    send_chat(server, message(cid, content="Still charged twice."))
    wait_until(lambda: emulator.comments(ticket["id"])[-1]["body"] == "Still charged twice.")
    values = placeholders(emulator, ticket["id"], by=emulator.api_user_id)
    assert values["current_user.role"] == "Agent"
    assert deliver(server, render(values), f"inv-echo-{cid}").status_code == 202
    # And a public comment by ticketsync's own API user, seen through a trigger.
    emulator.act_as_agent(
        ticket["id"], comment="Posted by the API user.", author_id=emulator.api_user_id
    )
    values = placeholders(emulator, ticket["id"], by=emulator.api_user_id)
    assert deliver(server, render(values), f"inv-own-{cid}").status_code == 202

    with server.admin() as admin:
        quiet(admin)
    assert replies_to(receiver, cid) == []
    assert len(reads_of(server, cid)) == 2  # each was read from the API, and nothing sent


def test_a_replayed_trigger_delivery_changes_nothing(server: Server, zendesk, chat) -> None:
    emulator, _ = zendesk
    receiver, _ = chat
    cid, ticket = ticketed(server, emulator)
    emulator.act_as_agent(ticket["id"], comment="Refunded; can you confirm?", status="pending")
    values = placeholders(emulator, ticket["id"], by=emulator.agent_id)
    comment_body, status_body = render(values), render(values, comment=False)
    comment_headers = zendesk_signature.signed_headers(ZENDESK_SECRET, comment_body, time.time())
    pending_headers = zendesk_signature.signed_headers(ZENDESK_SECRET, status_body, time.time())
    inv = f"inv-{cid}"
    assert deliver(server, comment_body, inv + "-1", headers=comment_headers).status_code == 202
    assert deliver(server, status_body, inv + "-2", headers=pending_headers).status_code == 202
    wait_until(lambda: conversation(server, cid)["status"] == "awaiting_customer")
    wait_until(lambda: len(replies_to(receiver, cid)) == 1)
    emulator.act_as_agent(ticket["id"], status="open")
    values = placeholders(emulator, ticket["id"], by=emulator.agent_id)
    assert deliver(server, render(values, comment=False), inv + "-3").status_code == 202
    wait_until(lambda: conversation(server, cid)["status"] == "with_agent")
    with server.admin() as admin:
        quiet(admin)
    before = conversation(server, cid)

    # The same signed bodies again: under new invocation ids (the header is not signed), and
    # re-signed later within the window under the first one's.
    assert deliver(server, status_body, inv + "-4", headers=pending_headers).status_code == 202
    assert deliver(server, comment_body, inv + "-5", headers=comment_headers).status_code == 202
    again = deliver(server, comment_body, inv + "-1")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    with server.admin() as admin:
        quiet(admin)

    assert conversation(server, cid) == before
    assert [r.json["data"]["body"] for r in replies_to(receiver, cid)] == [
        "Refunded; can you confirm?"
    ]
