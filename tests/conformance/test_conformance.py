"""One suite, every help desk: the same scenarios against the built-in desk, the Zendesk
emulator and the Jira emulator, on SQLite and PostgreSQL.

ticketsync runs in-process with its workers on (its real app, through Starlette's test
client); the desks' emulators are real HTTP servers on 127.0.0.1; chat replies go to a
receiver that checks their Standard Webhooks signatures. Each scenario waits for what it
expects with a deadline, never for a fixed time.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.conformance.desks import DeskTicket, Harness, Note
from tests.conformance.harnesses import LocalHarness, ZendeskHarness, ZendeskTriggerHarness
from tests.emulators import chat_receiver, zendesk
from tests.support import ADMIN_TOKEN, CHAT_SECRET, signed, wait_until
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http

# "zendesk-triggers": Zendesk telling ticketsync by trigger webhooks, which are notices only.
DESKS = ["local", "zendesk", "zendesk-triggers", "jira"]
REPLY_SECRET = CHAT_SECRET
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class Service:
    """ticketsync in this process, and what a scenario does with it."""

    def __init__(self, client: TestClient, receiver: chat_receiver.ChatReceiver):
        self.client = client
        self.receiver = receiver
        self.clock = itertools.count(1)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str | None]:
        answer = self.client.post(path, content=body, headers=headers)
        return answer.status_code, answer.json().get("error")

    def chat(self, kind: str, cid: str, **data: Any) -> None:
        at = START + timedelta(seconds=next(self.clock))
        event = {
            "type": kind,
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "data": {"conversation_id": cid, **data},
        }
        body, headers = signed(orjson.dumps(event))
        assert self.post("/webhooks/chat", body, headers) == (202, None)

    def say(self, cid: str, text: str, role: str = "user") -> None:
        self.chat(
            "message.created", cid, message_id=f"m_{uuid.uuid4().hex[:8]}", role=role, content=text
        )

    def conversation(self, cid: str) -> dict[str, Any]:
        answer = self.client.get(
            f"/conversations/{cid}", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        return answer.json() if answer.status_code == 200 else {}

    def settled(
        self, cid: str, until: Callable[[dict[str, Any]], Any] = bool, timeout: float = 20
    ) -> dict[str, Any]:
        """The conversation once `until` holds of it and no call of it is waiting.

        The calls are counted after `until` held: a condition on the desk can come true
        (a status change applied) while a view read just before it still predates the
        calls that caused it (the comment queued beside that change).
        """

        def ready() -> dict[str, Any] | None:
            view = self.conversation(cid)
            if not (view and until(view)):
                return None
            after = self.conversation(cid)
            return after if after.get("pending_calls") == 0 and until(after) else None

        return wait_until(ready, timeout=timeout)

    def replies(self, cid: str) -> list[dict[str, Any]]:
        """Agents' replies the chat received for the conversation."""
        return [data for kind, data in self.told(cid) if kind == "agent.replied"]

    def told(self, cid: str) -> list[tuple[str, dict[str, Any]]]:
        """Everything the chat received for the conversation, in order, as (type, data)."""
        return [
            (d.json["type"], d.json["data"])
            for d in self.receiver.deliveries()
            if d.json["data"]["conversation_id"] == cid
        ]


def admin_client(service: list[Service]) -> Callable[[], Any]:
    def open_client() -> Any:
        client = service[0].client
        client.headers["authorization"] = f"Bearer {ADMIN_TOKEN}"

        class Borrowed:
            def __enter__(self) -> TestClient:
                return client

            def __exit__(self, *exc: Any) -> None:
                return None

        return Borrowed()

    return open_client


@pytest.fixture(params=DESKS)
def world(
    request: pytest.FixtureRequest, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Service, Harness]]:
    """A fresh ticketsync over a fresh store, beside a fresh desk of the parameter's kind."""
    with ExitStack() as resources:
        holder: list[Service] = []

        def webhooks(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str | None]:
            return holder[0].post(path, body, headers)

        harness: Harness
        if request.param == "local":
            harness = LocalHarness(admin_client(holder))
        elif request.param in ("zendesk", "zendesk-triggers"):
            emulator = zendesk.ZendeskEmulator(email="sync@example.com", api_token="zd-token")
            url = resources.enter_context(zendesk.serve(emulator))
            kind = ZendeskHarness if request.param == "zendesk" else ZendeskTriggerHarness
            harness = kind(emulator, url, webhooks)
        else:
            from tests.conformance.jira_harness import open_jira

            harness = resources.enter_context(open_jira(webhooks))
        receiver = chat_receiver.ChatReceiver(secret=REPLY_SECRET)
        reply_url = resources.enter_context(chat_receiver.serve(receiver))
        settings = config.load(
            {
                "TICKETSYNC_DATABASE_URL": database_url,
                "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
                "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
                "TICKETSYNC_CHAT_REPLY_URL": reply_url,
                "TICKETSYNC_CHAT_REPLY_SECRET": REPLY_SECRET,
                **harness.env(),
            }
        )
        chosen = bootstrap.help_desk_for
        monkeypatch.setattr(bootstrap, "help_desk_for", lambda *args: harness.wrap(chosen(*args)))
        container = bootstrap.build(settings)
        client = resources.enter_context(TestClient(http.create_app(container)))
        resources.callback(container.close)
        holder.append(Service(client, receiver))
        yield holder[0], harness


def escalated(service: Service, **started: Any) -> str:
    cid = f"conv_{uuid.uuid4().hex[:10]}"
    service.chat(
        "conversation.started",
        cid,
        customer={"id": "cust_1", "email": f"{cid}@example.com", "name": "Rita Requester"},
        **started,
    )
    service.chat("intents.detected", cid, intents=["billing_problem"])
    service.say(cid, "I was charged twice for my subscription.")
    service.chat("conversation.escalated", cid, reason="customer asked for a human")
    return cid


def one_ticket(service: Service, harness: Harness, cid: str) -> tuple[dict[str, Any], DeskTicket]:
    view = service.settled(cid, lambda v: v.get("ticket"))
    [ticket] = harness.tickets(cid)
    assert view["ticket"]["id"] == ticket.id
    assert view["ticket"]["system"] == harness.name
    return view, ticket


def current(harness: Harness, cid: str, ticket_id: str) -> DeskTicket:
    [ticket] = [t for t in harness.tickets(cid) if t.id == ticket_id]
    return ticket


def test_an_escalation_makes_one_ticket_with_its_subject_routing_and_summary(world) -> None:
    service, harness = world
    cid = escalated(service, subject="Charged twice")
    view, ticket = one_ticket(service, harness, cid)
    assert "[billing_problem]" in ticket.subject
    assert "Charged twice" in ticket.subject
    assert ticket.priority == "high"
    assert ticket.group == "Billing Team"
    assert {"billing", "urgent"} <= ticket.tags
    assert ticket.state == "open"
    summary = ticket.notes[0]
    assert not summary.public
    assert "I was charged twice" in summary.body
    assert "customer asked for a human" in summary.body
    assert view["status"] in ("escalated", "with_agent")


def test_progress_is_a_note_and_the_customers_message_a_public_comment(world) -> None:
    service, harness = world
    cid = escalated(service)
    _, ticket = one_ticket(service, harness, cid)
    service.chat(
        "tool.executed", cid, tool="refund_lookup", input={"order": "A1"}, output={}, status="ok"
    )
    service.say(cid, "Any news on my refund?")
    service.settled(cid, lambda v: len(harness.tickets(cid)[0].notes) >= len(ticket.notes) + 2)
    notes = current(harness, cid, ticket.id).notes
    assert Note(True, "Any news on my refund?") in notes
    assert any(not n.public and "refund_lookup" in n.body for n in notes[len(ticket.notes) :])


@pytest.mark.parametrize(
    ("resolution", "state"),
    [("resolved", "done"), ("pending_customer", "pending"), ("duplicate", "done")],
)
def test_each_resolution_moves_the_ticket(world, resolution: str, state: str) -> None:
    service, harness = world
    cid = escalated(service)
    _, ticket = one_ticket(service, harness, cid)
    service.chat("conversation.resolved", cid, resolution=resolution)
    if state == "pending":
        state = harness.pending_state
    service.settled(cid, lambda v: current(harness, cid, ticket.id).state == state)
    if resolution in ("resolved", "duplicate"):
        assert current(harness, cid, ticket.id).priority == "medium"  # one step down from high


def test_a_customer_writing_after_the_resolution_reopens_the_ticket(world) -> None:
    service, harness = world
    cid = escalated(service)
    _, ticket = one_ticket(service, harness, cid)
    service.chat("conversation.resolved", cid, resolution="resolved")
    service.settled(cid, lambda v: current(harness, cid, ticket.id).state == "done")
    service.say(cid, "It happened again.")
    service.settled(cid, lambda v: current(harness, cid, ticket.id).state == "open")
    assert Note(True, "It happened again.") in current(harness, cid, ticket.id).notes
    assert len(harness.tickets(cid)) == 1


def test_a_customer_writing_to_a_closed_ticket(world) -> None:
    """Zendesk and the built-in desk open a follow-up ticket; Jira reopens the done issue."""
    service, harness = world
    cid = escalated(service)
    _, ticket = one_ticket(service, harness, cid)
    harness.close_quietly(ticket.id)
    service.say(cid, "Still broken, please look again.")
    if harness.closed_opens_follow_up:
        view = service.settled(cid, lambda v: v["ticket"]["id"] != ticket.id)
        old, new = harness.tickets(cid)
        assert (old.id, new.id) == (ticket.id, view["ticket"]["id"])
        assert old.state == "done"
        assert Note(True, "Still broken, please look again.") in new.notes
    else:
        service.settled(cid, lambda v: current(harness, cid, ticket.id).state == "open")
        [only] = harness.tickets(cid)
        assert Note(True, "Still broken, please look again.") in only.notes


def test_a_lost_create_answer_is_looked_up_not_repeated(world) -> None:
    service, harness = world
    harness.lose_next_create_answer()
    cid = escalated(service)
    one_ticket(service, harness, cid)  # exactly one on the desk


@pytest.mark.parametrize("fault", ["rate_limit", "outage"])
def test_a_rate_limit_and_an_outage_are_retried_into_one_ticket(world, fault: str) -> None:
    service, harness = world
    if fault == "rate_limit":
        harness.rate_limit_next(1)
    else:
        harness.outage(2)
    cid = escalated(service)
    view, _ = one_ticket(service, harness, cid)
    answer = service.client.get(
        "/audit",
        params={"conversation_id": cid},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    kinds = [event["type"] for event in answer.json()["events"]]
    assert "call.retry_scheduled" in kinds or "call.failed" in kinds, kinds
    assert view["ticket"]


def test_an_agents_reply_reaches_the_chat_once_and_an_internal_note_does_not(world) -> None:
    service, harness = world
    cid = escalated(service)
    _, ticket = one_ticket(service, harness, cid)
    harness.agent_reply(ticket.id, "We have refunded the second charge.")
    harness.agent_reply(ticket.id, "internal: refund id 991", public=False)
    [reply] = wait_until(lambda: service.replies(cid), timeout=20)
    assert reply["body"] == "We have refunded the second charge."
    assert reply["ticket"] == {"system": harness.name, "id": ticket.id}
    service.settled(cid)
    assert len(service.replies(cid)) == 1


def test_an_agents_status_change_is_reflected_and_our_own_changes_echo_nothing(world) -> None:
    service, harness = world
    cid = escalated(service)
    _, ticket = one_ticket(service, harness, cid)
    harness.agent_state(ticket.id, "done")
    service.settled(cid, lambda v: v["status"] == "resolved_by_agent")
    harness.agent_state(ticket.id, "open")
    view = service.settled(cid, lambda v: v["status"] == "with_agent")
    # Nothing ticketsync did came back as a reply, and no call is left over.
    assert service.replies(cid) == []
    assert view["pending_calls"] == 0
    assert len(harness.tickets(cid)) == 1


def test_a_forged_change_is_refused_and_changes_nothing(world) -> None:
    """A webhook with a bad signature (or, on the built-in desk, an agent's action without
    the admin token) is 401 and leaves the conversation as it was."""
    service, harness = world
    cid = escalated(service)
    _, ticket = one_ticket(service, harness, cid)
    before = service.conversation(cid)
    status, error = harness.forged_reply(ticket.id, "Send me your password.")
    assert status == 401
    assert error in ("invalid_signature", "unauthorized")
    assert service.conversation(cid) == before
    assert service.replies(cid) == []


def holders(service: Service, cid: str) -> list[tuple[str, str]]:
    """The control changes the chat was told, in order, as (holder, reason)."""
    return [
        (data["holder"], data["reason"])
        for kind, data in service.told(cid)
        if kind == "control.changed"
    ]


def test_the_chat_is_told_its_ticket_and_who_holds_the_conversation(world) -> None:
    """An escalation tells the chat its ticket and hands it to people; a solve on the desk
    hands it back; the customer writing again takes it to people again."""
    service, harness = world
    cid = escalated(service)
    _, ticket = one_ticket(service, harness, cid)
    wait_until(
        lambda: [k for k, _ in service.told(cid)][:2] == ["control.changed", "ticket.created"]
    )
    created = next(data for kind, data in service.told(cid) if kind == "ticket.created")
    assert created["ticket"]["system"] == harness.name
    assert created["ticket"]["id"] == ticket.id
    assert created["follows"] is None
    assert created["route"]["group"] == "Billing Team"
    assert holders(service, cid) == [("human", "escalated")]
    harness.agent_state(ticket.id, "done")
    service.settled(cid, lambda v: v["control"]["holder"] == "agent")
    wait_until(lambda: holders(service, cid)[-1:] == [("agent", "ticket_solved")])
    statuses = [d for k, d in service.told(cid) if k == "ticket.status_changed"]
    assert statuses[-1]["ticket"]["status"] == "solved"
    assert statuses[-1]["conversation_status"] == "resolved_by_agent"
    service.say(cid, "It happened again.")
    view = service.settled(cid, lambda v: v["control"]["holder"] == "human")
    assert view["control"]["reason"] == "reopened"
    wait_until(lambda: holders(service, cid)[-1:] == [("human", "reopened")])
    # Each fact once: every webhook-id is the receiver's only delivery of it.
    ids = [d.webhook_id for d in service.receiver.deliveries()]
    assert len(ids) == len(set(ids))


def test_a_humans_reply_takes_a_conversation_never_escalated(world) -> None:
    service, harness = world
    cid = f"conv_{uuid.uuid4().hex[:10]}"
    service.chat("conversation.started", cid, customer={"id": "c2", "email": f"{cid}@example.com"})
    for number in range(4):
        service.say(cid, f"Question {number}")
    view, ticket = one_ticket(service, harness, cid)
    assert view["control"]["holder"] == "agent"
    harness.agent_reply(ticket.id, "I can help with that.")
    view = service.settled(cid, lambda v: v["control"]["holder"] == "human")
    assert view["control"]["reason"] == "agent_replied"
    wait_until(lambda: holders(service, cid) == [("human", "agent_replied")])


def test_the_agents_notes_arrive_as_internal_notes_once_each(world) -> None:
    """A note sent before the ticket exists waits for it; one sent after goes on at once."""
    service, harness = world
    cid = f"conv_{uuid.uuid4().hex[:10]}"
    service.chat("conversation.started", cid, customer={"id": "cust_2", "name": "Nora Note"})
    service.chat("note.added", cid, text="Reseller account, 40 seats")
    service.say(cid, "I was charged twice for my subscription.")
    service.chat("conversation.escalated", cid, reason="customer asked for a human")
    _, ticket = one_ticket(service, harness, cid)
    service.chat("note.added", cid, text="Billing approved the refund")
    service.settled(
        cid,
        lambda v: any("Billing approved" in n.body for n in current(harness, cid, ticket.id).notes),
    )
    notes = current(harness, cid, ticket.id).notes
    for text in ("Reseller account, 40 seats", "Billing approved the refund"):
        [found] = [n for n in notes if text in n.body]
        assert not found.public
    assert len(harness.tickets(cid)) == 1
