"""ticketsync.client against a running `ticketsync serve`: the agent's events in, and what
ticketsync tells the chat checked with verify_event."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.chat_receiver import Attempt, ChatReceiver
from tests.emulators.chat_receiver import serve as serve_chat
from tests.support import CHAT_SECRET, OTHER_SECRET, Server, quiet, running, wait_until
from ticketsync.client import ChatClient, InvalidSignature, Refused, verify_event

# Another secret than the chat webhook's: what the chat is told is signed with the reply secret.
REPLY_SECRET = OTHER_SECRET


@pytest.fixture(scope="module")
def chat_receiver(database: tuple[str, Any]) -> Iterator[tuple[ChatReceiver, str]]:
    # One receiver per service: the built-in desk numbers tickets from 1 in each store, so
    # two services' replies share webhook-ids, which one receiver would take for retries.
    receiver = ChatReceiver(REPLY_SECRET)
    with serve_chat(receiver) as url:
        yield receiver, url


@pytest.fixture(scope="module")
def server(chat_receiver: tuple[ChatReceiver, str], database: tuple[str, Any]) -> Iterator[Server]:
    url, folder = database
    env = {
        "TICKETSYNC_CHAT_REPLY_URL": chat_receiver[1],
        "TICKETSYNC_CHAT_REPLY_SECRET": REPLY_SECRET,
        "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
        "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.3",
    }
    with running(url, folder, env=env) as started:
        yield started


@pytest.fixture
def chat(server: Server) -> Iterator[ChatClient]:
    with ChatClient(server.url, CHAT_SECRET, timeout=10) as client:
        yield client


def conversation() -> str:
    return f"conv_{uuid.uuid4().hex[:8]}"


def audit(server: Server, conversation_id: str) -> list[dict[str, Any]]:
    with server.admin() as admin:
        answer = admin.get("/audit", params={"conversation_id": conversation_id, "limit": 1000})
    return [event for event in answer.json()["events"] if event["source"] == "chat"]


def test_every_method_is_accepted_and_stored(server: Server, chat: ChatClient) -> None:
    cid = conversation()
    customer = {"id": "c1", "email": "ann@example.com", "name": "Ann"}
    answers = [
        chat.started(cid, customer=customer, subject="Refund", channel="web"),
        chat.message(cid, "user", "I was charged twice"),
        chat.message(cid, "assistant", "Let me look", message_id="m2", event_id=f"{cid}-m2"),
        chat.tool(cid, "lookup_invoice", input={"id": "INV-1"}, output={"paid": True}, status="ok"),
        chat.intents(cid, ["billing_problem"]),
        chat.note(cid, "Customer is a reseller"),
        chat.escalate(cid, reason="customer asked for a human"),
        chat.resolve(cid, "resolved"),
    ]
    assert [answer["status"] for answer in answers] == ["accepted"] * len(answers)
    assert answers[2]["event_id"] == f"{cid}-m2"
    positions = [answer["position"] for answer in answers]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(answers)
    stored = audit(server, cid)
    assert [event["type"] for event in stored] == [
        "conversation.started",
        "message.created",
        "message.created",
        "tool.executed",
        "intents.detected",
        "note.added",
        "conversation.escalated",
        "conversation.resolved",
    ]
    assert [event["id"] for event in stored] == [answer["event_id"] for answer in answers]
    with server.admin() as admin:
        quiet(admin)
        view = admin.get(f"/conversations/{cid}").json()
    assert view["customer"]["email"] == "ann@example.com"
    assert view["message_count"] == 2
    assert view["tools"] == ["lookup_invoice"]
    assert view["intents"] == ["billing_problem"]
    assert view["escalation_reason"] == "customer asked for a human"
    assert view["status"] == "resolved"
    assert view["ticket"] is not None


def test_the_same_event_sent_again_is_answered_duplicate(server: Server, chat: ChatClient) -> None:
    cid = conversation()
    at = datetime.now(UTC)
    first = chat.message(cid, "user", "hello", message_id="m1", event_id=f"{cid}-1", occurred_at=at)
    again = chat.message(cid, "user", "hello", message_id="m1", event_id=f"{cid}-1", occurred_at=at)
    assert first["status"] == "accepted"
    assert again == {**first, "status": "duplicate"}
    # The same id on another event is a conflict, refused, and stores nothing.
    with pytest.raises(Refused) as raised:
        chat.message(cid, "user", "other", message_id="m1", event_id=f"{cid}-1", occurred_at=at)
    assert (raised.value.status, raised.value.code) == (409, "conflict")
    assert [event["id"] for event in audit(server, cid)] == [f"{cid}-1"]


def test_a_refusal_names_the_field(server: Server, chat: ChatClient) -> None:
    cid = conversation()
    with pytest.raises(Refused) as raised:
        chat.message(cid, "robot", "hi")
    refused = raised.value
    assert (refused.status, refused.code, refused.field) == (422, "invalid_data", "data.role")
    assert "user, assistant" in refused.detail
    assert audit(server, cid) == []


HOSTILE = [
    pytest.param(
        lambda chat, cid: chat.message(cid, "user", "hi", message_id=""),
        (422, "invalid_data", "data.message_id"),
        id="empty-message-id",
    ),
    pytest.param(
        lambda chat, cid: chat.note(cid, "a note", event_id="e" * 256),
        (401, "malformed_signature", "webhook-id"),
        id="event-id-over-255",
    ),
    pytest.param(
        lambda chat, cid: chat.message(cid, "user", "x" * (1024 * 1024)),
        (413, "payload_too_large", None),
        id="over-1-MiB",
    ),
    pytest.param(
        lambda chat, cid: chat.tool(cid, "lookup", input=["not", "an", "object"], output=1, status="ok"),
        (422, "invalid_data", "data.input"),
        id="tool-input-not-an-object",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("send", "expected"), HOSTILE)
def test_a_refused_event_raises_what_ticketsync_answered_and_stores_nothing(
    server: Server, chat: ChatClient, send: Any, expected: tuple[int, str, str | None]
) -> None:
    cid = conversation()
    with pytest.raises(Refused) as raised:
        send(chat, cid)
    assert (raised.value.status, raised.value.code, raised.value.field) == expected
    assert audit(server, cid) == []


def test_a_wrong_secret_is_refused_as_the_signature(server: Server) -> None:
    cid = conversation()
    with ChatClient(server.url, OTHER_SECRET) as stranger, pytest.raises(Refused) as raised:
        stranger.intents(cid, ["billing_problem"])
    assert (raised.value.status, raised.value.code) == (401, "invalid_signature")
    assert audit(server, cid) == []


def _told(receiver: ChatReceiver, conversation_id: str) -> list[Attempt]:
    """Everything the chat was told of the conversation and took."""
    return [
        attempt
        for attempt in receiver.attempts()
        if attempt.outcome == "accepted"
        and isinstance(attempt.json, dict)
        and attempt.json["data"]["conversation_id"] == conversation_id
    ]


def _replies(receiver: ChatReceiver, conversation_id: str) -> list[Attempt]:
    return [a for a in _told(receiver, conversation_id) if a.json["type"] == "agent.replied"]


def _forged(headers: Mapping[str, str]) -> str:
    """The delivery's signature with one bit of its digest flipped."""
    digest = bytearray(base64.b64decode(headers["webhook-signature"].removeprefix("v1,")))
    digest[-1] ^= 1
    return "v1," + base64.b64encode(digest).decode()


def test_verify_event_accepts_what_ticketsync_sends_the_chat_and_nothing_else(
    server: Server, chat: ChatClient, chat_receiver: tuple[ChatReceiver, str]
) -> None:
    receiver = chat_receiver[0]
    cid = conversation()
    chat.started(cid, customer={"id": "c9", "name": "Bo"}, subject="Locked out")
    chat.message(cid, "user", "I cannot sign in")
    chat.escalate(cid, "locked out")
    with server.admin() as admin:
        ticket = wait_until(lambda: admin.get(f"/conversations/{cid}").json()["ticket"])
        answer = admin.post(
            f"/tickets/local/{ticket['id']}/comments",
            json={"author": "Dana", "body": "Unlocked, try again.", "public": True},
        )
        assert answer.status_code == 201
    (delivery,) = wait_until(lambda: _replies(receiver, cid), timeout=15)

    event = verify_event(delivery.headers, delivery.body, secret=REPLY_SECRET)
    assert event == delivery.json
    assert event["type"] == "agent.replied"
    assert event["data"]["body"] == "Unlocked, try again."
    assert event["data"]["author"] == {"name": "Dana"}
    # The facts of the ticket and of the hand-over verify the same way.
    told = wait_until(
        lambda: (
            {a.json["type"] for a in _told(receiver, cid)} >= {"ticket.created", "control.changed"}
            and _told(receiver, cid)
        )
    )
    for fact in told:
        assert verify_event(fact.headers, fact.body, secret=REPLY_SECRET) == fact.json

    tampered = delivery.body.replace(b"Unlocked", b"Unlucked")
    with pytest.raises(InvalidSignature) as raised:
        verify_event(delivery.headers, tampered, secret=REPLY_SECRET)
    assert raised.value.code == "invalid_signature"
    forged = {**delivery.headers, "webhook-signature": _forged(delivery.headers)}
    with pytest.raises(InvalidSignature):
        verify_event(forged, delivery.body, secret=REPLY_SECRET)
    # Signed with the reply secret, not the chat webhook's: the other one does not match.
    with pytest.raises(InvalidSignature):
        verify_event(delivery.headers, delivery.body, secret=CHAT_SECRET)


DOC = Path(__file__).parents[2] / "docs" / "client.md"
# Appended to the example: the handler it defines, given one signed delivery and one forged.
HANDLER_CALLS = """
import time
from ticketsync.adapters.chat import signing
body = b'{"type": "agent.replied", "timestamp": "2026-11-25T10:00:00Z", "data": {"conversation_id": "conv_1"}}'
headers = signing.signed_headers(os.environ["TICKETSYNC_CHAT_REPLY_SECRET"], "r1", body, time.time())
print(on_reply(headers, body))
print(on_reply(headers, body.replace(b"conv_1", b"conv_2")))
"""


def test_the_docs_example_runs_as_written(server: Server, tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"^```python\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    assert match, "no python block in docs/client.md"
    example = match.group(1)
    assert "http://127.0.0.1:8000" in example
    script = tmp_path / "agent.py"
    script.write_text(
        example.replace("http://127.0.0.1:8000", server.url) + HANDLER_CALLS, encoding="utf-8"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("TICKETSYNC_")}
    env |= {
        "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
        "TICKETSYNC_CHAT_REPLY_SECRET": REPLY_SECRET,
    }
    ran = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "accepted",
        "422 invalid_data data.role",
        "agent.replied conv_1",
        "204",
        "401",
    ]
    assert [event["type"] for event in audit(server, "conv_1")] == [
        "conversation.started",
        "message.created",
        "intents.detected",
        "tool.executed",
        "note.added",
        "conversation.escalated",
    ]
