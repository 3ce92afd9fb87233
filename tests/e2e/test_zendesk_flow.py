"""Conversation to ticket end to end: a real `ticketsync serve` against the Zendesk emulator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.emulators.zendesk import ZendeskEmulator
from tests.support import (
    Server,
    message,
    payload,
    run_cli,
    running,
    signed,
    unresolved_causes,
    wait_until,
)


def zendesk_env(base_url: str, **extra: str) -> dict[str, str]:
    return {
        "TICKETSYNC_TICKETING": "zendesk",
        "TICKETSYNC_ZENDESK_URL": base_url,
        "TICKETSYNC_ZENDESK_EMAIL": "sync@example.com",
        "TICKETSYNC_ZENDESK_API_TOKEN": "zd-token",
        "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": "zendesk-secret",
        "TICKETSYNC_ZENDESK_CONVERSATION_FIELD_ID": "360001",
        "TICKETSYNC_ZENDESK_SUMMARY_FIELD_ID": "360002",
        # A compressed clock: backoff in tens of milliseconds, not seconds.
        "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
        "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.5",
        "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "1000",
        "TICKETSYNC_HTTP_TIMEOUT": "1",
        **extra,
    }


@pytest.fixture(scope="module")
def server(zendesk: tuple[ZendeskEmulator, str], database: tuple[str, Path]) -> Iterator[Server]:
    _, base_url = zendesk
    url, folder = database
    with running(url, folder, env=zendesk_env(base_url)) as started:
        yield started


@pytest.fixture(autouse=True)
def no_faults(zendesk: tuple[ZendeskEmulator, str]) -> Iterator[None]:
    yield
    zendesk[0].clear_faults()


def send(server: Server, event: dict) -> None:
    body, headers = signed(event)
    answer = httpx.post(server.url + "/webhooks/chat", content=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text


def conversation_with_ticket(server: Server, cid: str, timeout: float = 15) -> dict:
    with server.admin() as admin:
        return wait_until(
            lambda: (v := admin.get(f"/conversations/{cid}").json()).get("ticket") and v,
            timeout=timeout,
        )


def settled(server: Server, cid: str, timeout: float = 15) -> dict:
    """The conversation once none of its calls is pending."""
    with server.admin() as admin:
        return wait_until(
            lambda: (
                (v := admin.get(f"/conversations/{cid}").json()).get("ticket")
                and v["pending_calls"] == 0
                and v
            ),
            timeout=timeout,
        )


def tickets_for(emulator: ZendeskEmulator, cid: str) -> list[dict]:
    return [t for t in emulator.tickets() if t.get("external_id") == cid]


def escalate(server: Server, cid: str, *, intent: str = "billing_problem") -> None:
    send(
        server,
        payload(
            "conversation.started",
            cid,
            customer={"id": "u1", "email": f"{cid}@example.com", "name": "Ann Lee"},
            subject="Charged twice",
        ),
    )
    send(server, message(cid, content="I was charged twice for November."))
    send(
        server,
        message(cid, role="assistant", content="I can see two charges; let me get a person."),
    )
    send(server, payload("intents.detected", cid, intents=[intent]))
    send(
        server,
        payload(
            "tool.executed",
            cid,
            tool="billing_lookup",
            input={"customer": "u1"},
            output={"charges": 2},
            status="ok",
        ),
    )
    send(server, payload("conversation.escalated", cid, reason="refund over the agent's limit"))


def test_escalation_creates_one_ticket_with_every_field(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    escalate(server, cid)
    view = settled(server, cid)
    [ticket] = tickets_for(emulator, cid)
    assert ticket["subject"] == "[billing_problem] Charged twice"
    assert ticket["priority"] == "high"
    assert ticket["group_id"] == emulator.group_id("Billing Team")
    assert set(ticket["tags"]) >= {"billing", "urgent", "billing_problem"}
    requester = next(u for u in emulator.users() if u["id"] == ticket["requester_id"])
    assert (requester["name"], requester["email"]) == ("Ann Lee", f"{cid}@example.com")
    fields = {f["id"]: f["value"] for f in ticket["custom_fields"]}
    assert fields[360001] == cid
    comments = emulator.comments(ticket["id"])
    assert comments[0]["public"] is False
    assert comments[0]["body"].startswith("CUSTOMER ISSUE:\nI was charged twice for November.")
    assert "TOOLS USED: billing_lookup" in comments[0]["body"]
    assert any(c["body"].startswith(f"AI Conversation: {cid}") for c in comments)
    create = next(r for r in emulator.creates() if r.json["ticket"]["external_id"] == cid)
    assert create.headers["idempotency-key"]
    assert view["ticket"]["system"] == "zendesk"
    assert view["ticket"]["id"] == str(ticket["id"])
    with server.admin() as admin:
        assert admin.get(f"/tickets/zendesk/{ticket['id']}").json()["conversation_id"] == cid


def test_outage_then_recovery_creates_exactly_one_ticket(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    emulator.fail_next(30, status=503, path="/api/v2/tickets(\\.json)?", method="POST")
    escalate(server, cid)
    with server.admin() as admin:
        wait_until(
            lambda: any(
                c["state"] == "pending" and c["attempts"] >= 3
                for c in admin.get("/outbox").json()["calls"]
                if c["conversation_id"] == cid
            )
        )
    emulator.clear_faults()
    settled(server, cid)
    assert len(tickets_for(emulator, cid)) == 1
    with server.admin() as admin:
        trail = admin.get("/audit", params={"conversation_id": cid, "type": "call.failed"}).json()[
            "events"
        ]
    assert trail
    assert all(e["data"]["status"] == 503 for e in trail)


def test_rate_limit_honours_retry_after(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    emulator.fail_next(
        1, status=429, retry_after=1, path="/api/v2/tickets(\\.json)?", method="POST"
    )
    escalate(server, cid)
    settled(server, cid)
    creates = [r for r in emulator.creates() if r.json["ticket"]["external_id"] == cid]
    assert len(creates) == 2
    assert (creates[1].received_at - creates[0].received_at).total_seconds() >= 0.9
    assert len(tickets_for(emulator, cid)) == 1


def test_timeout_after_the_ticket_was_created_makes_no_duplicate(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    emulator.drop_after_commit(1, path="/api/v2/tickets(\\.json)?", method="POST")
    escalate(server, cid)
    settled(server, cid, timeout=20)
    assert len(tickets_for(emulator, cid)) == 1


def test_customer_follow_up_reopens_a_solved_ticket(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    escalate(server, cid)
    send(server, payload("conversation.resolved", cid, resolution="resolved"))
    settled(server, cid)
    [ticket] = tickets_for(emulator, cid)
    assert emulator.ticket(ticket["id"])["status"] == "solved"
    send(server, message(cid, content="It happened again today."))
    settled(server, cid)
    assert emulator.ticket(ticket["id"])["status"] == "open"
    last = emulator.comments(ticket["id"])[-1]
    assert (last["body"], last["public"], last["author_id"]) == (
        "It happened again today.",
        True,
        ticket["requester_id"],
    )


def test_a_message_from_before_the_resolution_does_not_reopen_the_solved_ticket(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    """Zendesk reopens a solved ticket when its requester comments; a message written before
    the resolution but delivered after it is added to the ticket and reopens nothing."""
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    escalate(server, cid)
    resolved = payload("conversation.resolved", cid, resolution="resolved")
    send(server, {**resolved, "timestamp": "2026-11-25T10:05:00Z"})
    settled(server, cid)
    [ticket] = tickets_for(emulator, cid)
    assert emulator.ticket(ticket["id"])["status"] == "solved"
    late = message(cid, content="One more detail I forgot.")
    send(server, {**late, "timestamp": "2026-11-25T10:01:00Z"})
    view = settled(server, cid)
    last = emulator.comments(ticket["id"])[-1]
    assert (last["body"], last["public"], last["author_id"]) == (
        "One more detail I forgot.",
        True,
        ticket["requester_id"],
    )
    assert emulator.ticket(ticket["id"])["status"] == "solved"
    assert (view["status"], view["ticket"]["status"]) == ("resolved", "solved")
    with server.admin() as admin:
        trail = admin.get("/audit", params={"conversation_id": cid}).json()["events"]
    [queued] = [e for e in trail if e["type"] == "call.queued" and e["data"].get("public")]
    assert queued["data"]["keep_status"] == "solved"  # the audit trail says why


def test_customer_follow_up_after_closed_opens_a_follow_up_ticket(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    escalate(server, cid)
    send(server, payload("conversation.resolved", cid, resolution="duplicate"))
    first = settled(server, cid)["ticket"]["id"]
    assert emulator.ticket(int(first))["status"] == "closed"
    send(server, message(cid, content="Still waiting for my refund."))
    view = follow_up_of(server, cid, first)
    assert [t["id"] for t in view["previous_tickets"]] == [first]
    follow_up = emulator.ticket(int(view["ticket"]["id"]))
    assert follow_up["via"]["source"]["from"]["ticket_id"] == int(first)
    assert len(tickets_for(emulator, cid)) == 2


def own_store(database: tuple[str, Path], name: str) -> tuple[str, Path]:
    """A store of the module's kind that no other service of the module uses."""
    url, folder = database
    if "?schema=" in url:
        return url.replace("?schema=e2e_", f"?schema={name}_"), folder
    return url.replace("ticketsync.db", f"{name}.db"), folder


def follow_up_of(server: Server, cid: str, first: str, timeout: float = 15) -> dict:
    """The conversation once it has moved off ticket `first` and nothing is pending."""
    with server.admin() as admin:
        return wait_until(
            lambda: (
                (v := admin.get(f"/conversations/{cid}").json())["ticket"]
                and v["ticket"]["id"] != first
                and v["pending_calls"] == 0
                and v
            ),
            timeout=timeout,
        )


def public_comments(emulator: ZendeskEmulator, ticket_id: int) -> list[tuple[str, int]]:
    return [(c["body"], c["author_id"]) for c in emulator.comments(ticket_id) if c["public"]]


def test_a_message_on_a_ticket_closed_without_notice_opens_one_follow_up(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    """Zendesk's automation closes solved tickets and tells no one; the customer then writes."""
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    escalate(server, cid)
    send(server, payload("conversation.resolved", cid, resolution="resolved"))
    first = settled(server, cid)["ticket"]["id"]
    assert int(first) in emulator.close_solved_tickets()

    send(server, message(cid, content="The refund never arrived."))
    view = follow_up_of(server, cid, first)

    assert len(tickets_for(emulator, cid)) == 2
    follow_up = emulator.ticket(int(view["ticket"]["id"]))
    assert follow_up["via"]["source"]["from"]["ticket_id"] == int(first)
    assert public_comments(emulator, follow_up["id"]) == [
        ("The refund never arrived.", follow_up["requester_id"])
    ]
    summary = emulator.comments(follow_up["id"])[0]["body"]
    assert summary.startswith(f"FOLLOW-UP OF TICKET: {first}\n\nCUSTOMER ISSUE:\n")
    assert [(t["id"], t["status"]) for t in view["previous_tickets"]] == [(first, "closed")]
    with server.admin() as admin:
        parked = admin.get("/outbox", params={"state": "parked"}).json()["calls"]
        events = admin.get("/audit", params={"conversation_id": cid, "limit": 1000}).json()
    assert not [c for c in parked if c["conversation_id"] == cid]
    assert unresolved_causes(events["events"]) == []
    refused = [e for e in events["events"] if e["type"] == "call.refused"]
    assert refused
    assert all("closed prevents ticket update" in e["data"]["error"] for e in refused)


def test_a_deleted_ticket_is_replaced_by_a_new_one(
    server: Server, zendesk: tuple[ZendeskEmulator, str]
) -> None:
    emulator, _ = zendesk
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    escalate(server, cid)
    first = settled(server, cid)["ticket"]["id"]
    emulator.delete_ticket(int(first))

    send(server, message(cid, content="Did anyone see my refund request?"))
    view = follow_up_of(server, cid, first)

    [replacement] = tickets_for(emulator, cid)
    assert str(replacement["id"]) == view["ticket"]["id"]
    assert replacement["via"]["source"]["rel"] is None  # not a follow-up: nothing to follow
    assert public_comments(emulator, replacement["id"]) == [
        ("Did anyone see my refund request?", replacement["requester_id"])
    ]
    assert [(t["id"], t["status"]) for t in view["previous_tickets"]] == [(first, "deleted")]


def test_a_crash_between_the_refusal_and_the_follow_up_makes_one_follow_up(
    zendesk: tuple[ZendeskEmulator, str], database: tuple[str, Path]
) -> None:
    emulator, base_url = zendesk
    url, folder = own_store(database, "refused")
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    with running(url, folder, env=zendesk_env(base_url)) as before:
        escalate(before, cid)
        send(before, payload("conversation.resolved", cid, resolution="resolved"))
        first = settled(before, cid)["ticket"]["id"]
    emulator.close_solved_tickets()
    # The follow-up's create is made, then its answer held back: kill -9 in between.
    emulator.delay(30, method="POST", path="/api/v2/tickets(\\.json)?")
    crashing = Server(url, folder, env=zendesk_env(base_url)).start()
    try:
        send(crashing, message(cid, content="Still no refund."))
        wait_until(lambda: len(tickets_for(emulator, cid)) == 2)
    finally:
        crashing.kill()
    emulator.clear_faults()
    with running(url, folder, env=zendesk_env(base_url)) as after:
        view = follow_up_of(after, cid, first, timeout=20)
        with after.admin() as admin:
            parked = admin.get("/outbox", params={"state": "parked"}).json()["calls"]
    assert len(tickets_for(emulator, cid)) == 2
    follow_up = int(view["ticket"]["id"])
    assert public_comments(emulator, follow_up) == [
        ("Still no refund.", emulator.ticket(follow_up)["requester_id"])
    ]
    assert not [c for c in parked if c["conversation_id"] == cid]


def test_crash_between_decision_and_dispatch_sends_once(
    zendesk: tuple[ZendeskEmulator, str], database: tuple[str, Path]
) -> None:
    emulator, base_url = zendesk
    url, folder = own_store(database, "crash")
    cid = f"conv_{uuid.uuid4().hex[:8]}"
    emulator.delay(30, method="POST", path="/api/v2/tickets(\\.json)?")
    first = Server(url, folder, env=zendesk_env(base_url)).start()
    try:
        escalate(first, cid)
        wait_until(lambda: any(r.json["ticket"]["external_id"] == cid for r in emulator.creates()))
    finally:
        first.kill()  # kill -9 while the create is in flight
    emulator.clear_faults()
    with running(url, folder, env=zendesk_env(base_url)) as second:
        settled(second, cid, timeout=20)
    assert len(tickets_for(emulator, cid)) == 1


def test_zz_a_rebuild_after_all_of_the_above_equals_the_live_models(
    server: Server, zendesk: tuple[ZendeskEmulator, str], database: tuple[str, Path]
) -> None:
    """Runs last in this module: every scenario above is in the log by now."""

    import orjson

    from tests.support import server_env

    emulator, base_url = zendesk
    url, folder = database
    with server.admin() as admin:
        wait_until(lambda: admin.get("/healthz").json()["projections"]["conversations"]["lag"] == 0)
        wait_until(
            lambda: not admin.get("/outbox", params={"state": "pending"}).json()["calls"],
            timeout=20,
        )
        calls = len(admin.get("/outbox").json()["calls"])
    requests = len(emulator.requests())
    env = server_env(url, **zendesk_env(base_url))
    for command in (["verify", "--json"], ["rebuild", "--yes", "--json"]):
        result = run_cli(command, folder, env, timeout=120)
        assert result.returncode == 0, result.stderr
        summary = orjson.loads(result.stdout)
        assert summary["differences"] == 0, summary["differences_shown"]
        assert summary["rows"]["conversations"] > 0
    assert summary["state"] == "done"
    assert len(emulator.requests()) == requests  # the rebuild called nothing
    with server.admin() as admin:
        assert len(admin.get("/outbox").json()["calls"]) == calls
