"""Ticket to conversation end to end: help-desk changes come back to the chat, with no echo.

Zendesk's side is played by the emulator (its state) and by signed event-subscription
webhooks built here from Zendesk's documented shapes; the chat platform's side by a
receiver that checks the Standard Webhooks signature with the reference library.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.emulators.chat_receiver import ChatReceiver
from tests.emulators.chat_receiver import serve as serve_chat
from tests.emulators.zendesk import ZendeskEmulator
from tests.support import (
    CHAT_SECRET,
    Server,
    message,
    payload,
    quiet,
    run_cli,
    running,
    signed,
    wait_until,
)
from ticketsync.adapters.zendesk import signature as zendesk_signature

ZENDESK_SECRET = "zendesk-signing-secret"
REPLY_SECRET = CHAT_SECRET


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[ChatReceiver, str]]:
    receiver = ChatReceiver(REPLY_SECRET)
    with serve_chat(receiver) as url:
        yield receiver, url


FAST_OUTBOX = {
    "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
    "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.3",
    "TICKETSYNC_HTTP_TIMEOUT": "2",
}


@pytest.fixture(scope="module")
def server(zendesk, chat, database) -> Iterator[Server]:
    url, folder = database
    env = {
        "TICKETSYNC_TICKETING": "zendesk",
        "TICKETSYNC_ZENDESK_URL": zendesk[1],
        "TICKETSYNC_ZENDESK_EMAIL": "sync@example.com",
        "TICKETSYNC_ZENDESK_API_TOKEN": "zd-token",
        "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": f"old-rotated-secret,{ZENDESK_SECRET}",
        "TICKETSYNC_CHAT_REPLY_URL": chat[1],
        "TICKETSYNC_CHAT_REPLY_SECRET": REPLY_SECRET,
        **FAST_OUTBOX,
    }
    with running(url, folder, env=env) as started:
        yield started


@pytest.fixture(autouse=True)
def no_faults(zendesk, chat) -> Iterator[None]:
    yield
    zendesk[0].clear_faults()
    chat[0].clear_faults()


def send_chat(server: Server, event: dict) -> None:
    body, headers = signed(event)
    assert (
        httpx.post(server.url + "/webhooks/chat", content=body, headers=headers).status_code == 202
    )


def zendesk_event(kind: str, ticket: dict, event: dict, *, actor_id: int | str) -> dict:
    """An event-subscription payload in Zendesk's documented shape (ids as strings, enums upper-case)."""
    return {
        "account_id": 1234,
        "detail": {
            "actor_id": str(actor_id),
            "external_id": ticket.get("external_id"),
            "id": str(ticket["id"]),
            "status": str(ticket["status"]).upper(),
            "priority": str(ticket.get("priority") or "normal").upper(),
            "requester_id": str(ticket["requester_id"]),
            "subject": ticket["subject"],
            "tags": ticket.get("tags", []),
        },
        "event": event,
        "id": f"01J{uuid.uuid4().hex[:23].upper()}",
        "subject": f"zen:ticket:{ticket['id']}",
        "time": "2026-11-25T10:00:00.123456789Z",
        "type": f"zen:event-type:ticket.{kind}",
        "zendesk_event_version": "2022-11-06",
    }


def post_zendesk(
    server: Server, body: dict | bytes, *, secret: str = ZENDESK_SECRET
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = zendesk_signature.signed_headers(secret, raw, time.time())
    headers["content-type"] = "application/json"
    return httpx.post(server.url + "/webhooks/zendesk", content=raw, headers=headers)


def conversation(server: Server, cid: str) -> dict:
    with server.admin() as admin:
        return admin.get(f"/conversations/{cid}").json()


def ticketed(server: Server, zendesk: ZendeskEmulator) -> tuple[str, dict]:
    """A new conversation that escalated, once its ticket exists and all calls are done."""
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    send_chat(
        server,
        payload(
            "conversation.started",
            cid,
            customer={"id": "u1", "email": f"{cid}@example.com", "name": "Ann"},
            subject="Refund",
        ),
    )
    send_chat(server, message(cid, content="Please refund the second charge."))
    send_chat(server, payload("conversation.escalated", cid, reason="refund"))
    view = wait_until(
        lambda: (v := conversation(server, cid))["ticket"] and v["pending_calls"] == 0 and v,
        timeout=15,
    )
    return cid, zendesk.ticket(int(view["ticket"]["id"]))


def agent_reply(zendesk: ZendeskEmulator, ticket: dict, text: str, *, public: bool = True) -> dict:
    audit = zendesk.act_as_agent(ticket["id"], comment=text, public=public)
    [added] = [e for e in audit["events"] if e["type"] == "Comment"]
    event = {
        "comment": {
            "id": str(added["id"]),
            "body": text,
            "is_public": public,
            "author": {"id": str(zendesk.agent_id), "is_staff": True, "name": "Agent Smith"},
        }
    }
    return zendesk_event(
        "comment_added", zendesk.ticket(ticket["id"]), event, actor_id=zendesk.agent_id
    )


def test_agent_reply_reaches_the_chat_once_even_when_it_fails_twice(
    server: Server, zendesk, chat
) -> None:
    emulator, _ = zendesk
    receiver, _ = chat
    cid, ticket = ticketed(server, emulator)
    # What the chat is told of the new ticket goes first: the faults are for the reply.
    wait_until(lambda: conversation(server, cid)["pending_calls"] == 0)
    receiver.fail_next(2, status=503)
    webhook = agent_reply(emulator, ticket, "We have refunded the second charge.")
    assert post_zendesk(server, webhook).status_code == 202
    assert post_zendesk(server, webhook).json()["status"] == "duplicate"  # Zendesk delivering twice
    delivered = wait_until(
        lambda: [d for d in receiver.replies() if d.json["data"]["conversation_id"] == cid],
        timeout=15,
    )
    [reply] = delivered
    assert reply.json["type"] == "agent.replied"
    data = reply.json["data"]
    assert data["ticket"] == {"system": "zendesk", "id": str(ticket["id"])}
    assert data["author"] == {"name": "Agent Smith"}
    assert data["body"] == "We have refunded the second charge."
    attempts = [a for a in receiver.attempts() if a.webhook_id == reply.webhook_id]
    assert len(attempts) == 3  # two refusals, then the delivery
    with server.admin() as admin:
        wait_until(lambda: conversation(server, cid)["pending_calls"] == 0)
        trail = admin.get("/audit", params={"conversation_id": cid, "type": "call.failed"}).json()[
            "events"
        ]
    assert [e["data"]["kind"] for e in trail] == ["send_reply", "send_reply"]


def test_our_own_notes_coming_back_cause_nothing(server: Server, zendesk, chat) -> None:
    emulator, _ = zendesk
    receiver, _ = chat
    cid, ticket = ticketed(server, emulator)
    comments = emulator.comments(ticket["id"])
    for comment in comments:  # the summary and link notes, as Zendesk would echo them
        event = {
            "comment": {
                "id": str(comment["id"]),
                "body": comment["body"],
                "is_public": comment["public"],
                "author": {
                    "id": str(emulator.api_user_id),
                    "is_staff": True,
                    "name": "Ticketsync API",
                },
            }
        }
        assert (
            post_zendesk(
                server, zendesk_event("comment_added", ticket, event, actor_id=emulator.api_user_id)
            ).status_code
            == 202
        )
    # Our own public comment as ticketsync's API user (were there one) is no reply either.
    event = {
        "comment": {
            "id": "999",
            "body": "public by us",
            "is_public": True,
            "author": {"id": str(emulator.api_user_id), "is_staff": True, "name": "Ticketsync API"},
        }
    }
    post_zendesk(
        server, zendesk_event("comment_added", ticket, event, actor_id=emulator.api_user_id)
    )
    # A marker event after them: once it is reflected, everything before it was processed.
    post_zendesk(
        server,
        zendesk_event(
            "priority_changed",
            ticket,
            {"current": "URGENT", "previous": "NORMAL"},
            actor_id=emulator.agent_id,
        ),
    )
    wait_until(lambda: conversation(server, cid)["ticket"]["priority"] == "urgent")
    assert [d for d in receiver.replies() if d.json["data"]["conversation_id"] == cid] == []
    assert conversation(server, cid)["pending_calls"] == 0


def test_status_changes_are_reflected_and_our_own_echo_is_not(server: Server, zendesk) -> None:
    emulator, _ = zendesk
    cid, ticket = ticketed(server, emulator)
    for status, expected in (
        ("pending", "awaiting_customer"),
        ("open", "with_agent"),
        ("solved", "resolved_by_agent"),
    ):
        emulator.act_as_agent(ticket["id"], status=status)
        post_zendesk(
            server,
            zendesk_event(
                "status_changed",
                emulator.ticket(ticket["id"]),
                {"current": status.upper(), "previous": "NEW"},
                actor_id=emulator.agent_id,
            ),
        )
        wait_until(lambda s=expected: conversation(server, cid)["status"] == s)
    # The customer writes again: the solved ticket reopens (the rule holds from both sides).
    send_chat(server, message(cid, content="The refund has not arrived."))
    wait_until(lambda: emulator.ticket(ticket["id"])["status"] == "open")
    # Zendesk echoes ticketsync's own reopen: it must not read as an agent's change.
    post_zendesk(
        server,
        zendesk_event(
            "status_changed",
            emulator.ticket(ticket["id"]),
            {"current": "OPEN", "previous": "SOLVED"},
            actor_id=emulator.api_user_id,
        ),
    )
    post_zendesk(
        server,
        zendesk_event(
            "group_assignment_changed",
            ticket,
            {"current": str(emulator.group_id("Security")), "previous": None},
            actor_id=emulator.agent_id,
        ),
    )
    post_zendesk(
        server,
        zendesk_event(
            "agent_assignment_changed",
            ticket,
            {"current": str(emulator.agent_id), "previous": None},
            actor_id=emulator.agent_id,
        ),
    )
    view = wait_until(lambda: (v := conversation(server, cid))["ticket"]["assignee"] and v)
    assert view["ticket"]["group"] == str(emulator.group_id("Security"))
    assert view["ticket"]["status"] == "open"
    assert view["status"] == "open"


def test_webhooks_for_unknown_tickets_are_stored_and_ignored(server: Server, zendesk) -> None:
    emulator, _ = zendesk
    hand_made = {
        "id": 987654,
        "status": "open",
        "requester_id": 1,
        "subject": "made by hand",
        "external_id": None,
    }
    answer = post_zendesk(
        server,
        zendesk_event(
            "status_changed",
            hand_made,
            {"current": "SOLVED", "previous": "OPEN"},
            actor_id=emulator.agent_id,
        ),
    )
    assert answer.status_code == 202
    with server.admin() as admin:
        trail = admin.get("/audit", params={"ticket": "zendesk:987654"}).json()["events"]
        assert [e["source"] for e in trail] == ["zendesk"]
        assert trail[0]["conversation_id"] is None
    other = dict(hand_made, external_id="conv_nobody_knows")
    assert (
        post_zendesk(
            server,
            zendesk_event(
                "status_changed",
                other,
                {"current": "SOLVED", "previous": "OPEN"},
                actor_id=emulator.agent_id,
            ),
        ).status_code
        == 202
    )
    with server.admin() as admin:
        wait_until(lambda: admin.get("/healthz").json()["projections"]["conversations"]["lag"] == 0)
        assert admin.get("/conversations/conv_nobody_knows").status_code == 404


def test_unknown_zendesk_event_types_are_ignored(server: Server, zendesk) -> None:
    emulator, _ = zendesk
    ticket = {"id": 1, "status": "open", "requester_id": 1, "subject": "s"}
    answer = post_zendesk(
        server,
        zendesk_event(
            "tags_changed", ticket, {"current": ["a"], "previous": []}, actor_id=emulator.agent_id
        ),
    )
    assert answer.status_code == 202
    assert answer.json()["ignored"] is True


def test_bad_zendesk_signatures_are_refused(server: Server, zendesk) -> None:
    _emulator, _ = zendesk
    body = zendesk_event(
        "status_changed",
        {"id": 5, "status": "open", "requester_id": 1, "subject": "s"},
        {"current": "SOLVED"},
        actor_id=1,
    )
    wrong = post_zendesk(server, body, secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_signature"
    raw = orjson.dumps(body)
    stale = zendesk_signature.signed_headers(ZENDESK_SECRET, raw, time.time() - 600)
    answer = httpx.post(
        server.url + "/webhooks/zendesk",
        content=raw,
        headers={**stale, "content-type": "application/json"},
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "stale_timestamp"
    assert answer.json()["field"] == "x-zendesk-webhook-signature-timestamp"
    assert (
        httpx.post(
            server.url + "/webhooks/zendesk",
            content=raw,
            headers={"content-type": "application/json"},
        ).status_code
        == 401
    )
    # A timestamp in another form than Zendesk's names the header at fault.
    malformed = httpx.post(
        server.url + "/webhooks/zendesk",
        content=raw,
        headers={
            **stale,
            "X-Zendesk-Webhook-Signature-Timestamp": "1795600800",
            "content-type": "application/json",
        },
    )
    assert malformed.status_code == 401
    assert malformed.json()["error"] == "malformed_timestamp"
    assert malformed.json()["field"] == "x-zendesk-webhook-signature-timestamp"
    unsigned = httpx.post(
        server.url + "/webhooks/zendesk",
        content=raw,
        headers={**stale, "content-type": "application/json", "X-Zendesk-Webhook-Signature": ""},
    )
    assert unsigned.json()["error"] == "missing_signature"
    assert unsigned.json()["field"] == "x-zendesk-webhook-signature"
    # The rotated-in secret and the old one both work.
    assert post_zendesk(server, body, secret="old-rotated-secret").status_code == 202


# The built-in help desk: agents act through the API, and the same loop runs.


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def local_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, ChatReceiver]]:
    """A service on the built-in desk, with a chat receiver of its own: each database numbers
    its local tickets and comments from 1, so reply ids repeat across the two stores."""
    folder = tmp_path_factory.mktemp("local-two-way")
    receiver = ChatReceiver(REPLY_SECRET)
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 't.db'}"
    else:
        url = f"{request.getfixturevalue('postgres_server_url')}?schema=lt_{uuid.uuid4().hex[:10]}"
    with serve_chat(receiver) as reply_url:
        env = {
            "TICKETSYNC_CHAT_REPLY_URL": reply_url,
            "TICKETSYNC_CHAT_REPLY_SECRET": REPLY_SECRET,
            **FAST_OUTBOX,
        }
        with running(url, folder, env=env) as started:
            yield started, receiver


def test_local_agent_reply_status_and_reopen(local_server: tuple[Server, ChatReceiver]) -> None:
    server, receiver = local_server
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    send_chat(server, payload("conversation.escalated", cid, reason="human please"))
    send_chat(server, message(cid, content="Hello?"))
    wait_until(lambda: conversation(server, cid)["ticket"])
    with server.admin() as admin:
        quiet(admin)  # the message may reach the log after the ticket was made
        ticket_id = conversation(server, cid)["ticket"]["id"]
        answer = admin.post(
            f"/tickets/local/{ticket_id}/comments",
            json={"author": "Dana", "body": "On it!", "public": True},
        )
        assert answer.status_code == 201
        assert (
            admin.post(
                f"/tickets/local/{ticket_id}/comments",
                json={"author": "Dana", "body": "internal", "public": False},
            ).status_code
            == 201
        )
        [reply] = wait_until(
            lambda: [d for d in receiver.replies() if d.json["data"]["conversation_id"] == cid]
        )
        assert reply.json["data"]["body"] == "On it!"
        assert reply.json["data"]["author"] == {"name": "Dana"}
        assert reply.json["data"]["ticket"] == {"system": "local", "id": ticket_id}
        changed = admin.patch(
            f"/tickets/local/{ticket_id}",
            json={"status": "solved", "assignee": "Dana", "priority": "urgent"},
        )
        assert changed.status_code == 200
        assert changed.json()["status"] == "solved"
        wait_until(lambda: conversation(server, cid)["status"] == "resolved_by_agent")
        assert conversation(server, cid)["ticket"]["assignee"] == "Dana"
        send_chat(server, message(cid, content="Not fixed yet."))
        quiet(admin)
        ticket = admin.get(f"/tickets/local/{ticket_id}").json()
        assert ticket["status"] == "open"
        assert ticket["comments"][-1] == {
            **ticket["comments"][-1],
            "author": "requester",
            "body": "Not fixed yet.",
            "public": True,
        }
        # Bad input is refused clearly, and nothing changes.
        assert (
            admin.post(
                f"/tickets/local/{ticket_id}/comments", json={"author": "", "body": "x"}
            ).json()["field"]
            == "author"
        )
        assert (
            admin.patch(f"/tickets/local/{ticket_id}", json={"status": "done"}).json()["field"]
            == "status"
        )
        assert admin.patch(f"/tickets/local/{ticket_id}", json={"colour": "red"}).status_code == 422
        assert (
            admin.post(
                "/tickets/local/99999/comments", json={"author": "a", "body": "b"}
            ).status_code
            == 404
        )
        assert (
            admin.post(
                f"/tickets/local/{ticket_id}/comments",
                content=b"[",
                headers={"content-type": "application/json"},
            ).status_code
            == 400
        )
        assert (
            httpx.post(
                f"{server.url}/tickets/local/{ticket_id}/comments",
                json={"author": "a", "body": "b"},
            ).status_code
            == 401
        )
        assert len([d for d in receiver.replies() if d.json["data"]["conversation_id"] == cid]) == 1


def test_trigger_webhooks_are_accepted_too(server: Server, zendesk, chat) -> None:
    """Accounts on trigger webhooks send our published body, rendered by Zendesk: a notice
    that the ticket changed, on which ticketsync reads the ticket from Zendesk's API."""
    emulator, _ = zendesk
    receiver, _ = chat
    cid, ticket = ticketed(server, emulator)
    emulator.act_as_agent(ticket["id"], comment="Replying from a trigger.")
    [comment] = emulator.comments(ticket["id"])[-1:]
    rendered = {
        "ticketsync": "trigger/2",
        "ticket_id": str(ticket["id"]),
        "external_id": cid,
        "updated_at": "2026-11-25T10:07Z",
        "comment_id": str(comment["id"]),
    }
    raw = orjson.dumps(rendered)
    headers = zendesk_signature.signed_headers(
        ZENDESK_SECRET, raw, time.time(), invocation_id="inv-" + cid
    )
    answer = httpx.post(
        server.url + "/webhooks/zendesk",
        content=raw,
        headers={**headers, "content-type": "application/json"},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["event_id"] == "inv-" + cid
    [reply] = wait_until(
        lambda: [d for d in receiver.replies() if d.json["data"]["conversation_id"] == cid]
    )
    assert reply.json["data"]["body"] == "Replying from a trigger."
    assert reply.json["data"]["comment_id"] == str(comment["id"])
    assert reply.json["data"]["author"] == {"name": "Avery Agent"}  # Zendesk's name for them
    again = httpx.post(
        server.url + "/webhooks/zendesk",
        content=raw,
        headers={**headers, "content-type": "application/json"},
    )
    assert again.json()["status"] == "duplicate"


def test_zz_a_rebuild_after_the_two_way_loops_equals_the_live_models(
    server: Server, database
) -> None:
    """Runs last in this module: every loop above is in the log by now."""

    from tests.support import quiet, server_env

    url, folder = database
    with server.admin() as admin:
        quiet(admin)
    env = server_env(
        url,
        **{
            k: v
            for k, v in server.env.items()
            if k.startswith("TICKETSYNC_") and k != "TICKETSYNC_DATABASE_URL"
        },
    )
    result = run_cli(["verify", "--json"], folder, env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["matches"] is True
    assert summary["differences"] == 0, summary["differences_shown"]
