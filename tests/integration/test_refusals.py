"""A help desk refusing a call for its ticket's sake, on SQLite and PostgreSQL.

A ticket closed without ticketsync being told (an automation), or deleted by an agent: the
customer's message still reaches a ticket, with no operator, and the audit trail tells why.
Workers are turned by hand with a clock the test controls (see test_pipeline.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeHelpDesk
from tests.integration.test_pipeline import Clock, deliver, escalate, settle
from tests.support import ADMIN_TOKEN, CHAT_SECRET, message, payload, unresolved_causes
from ticketsync.events.tickets import TicketChange
from ticketsync.service import bootstrap, config
from ticketsync.service.queries import views
from ticketsync.service.queries.audit import page
from ticketsync.service.store.log import AuditQuery


def build(database_url: str, clock: Clock, desk: Any = None):
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": database_url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
            "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "4",
        }
    )
    return bootstrap.build(settings, help_desk=desk, clock=clock, run_workers=False)


@pytest.fixture
def local(database_url: str):
    container = build(database_url, Clock())
    yield container
    container.close()


@pytest.fixture
def fake(database_url: str):
    desk = FakeHelpDesk()
    container = build(database_url, Clock(), desk)
    yield container, desk
    container.close()


def trail(container, cid: str) -> list[dict[str, Any]]:
    events, _ = page(container.log, AuditQuery(conversation_id=cid, limit=1000))
    return events


def assert_every_cause_resolves(events: list[dict[str, Any]]) -> None:
    assert unresolved_causes(events) == []


def only(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [e for e in events if e["type"] == kind]
    return found


def test_a_message_on_a_ticket_closed_without_notice_opens_one_follow_up(local) -> None:
    escalate(local)
    deliver(local, payload("conversation.resolved", "c1", resolution="resolved"))
    settle(local)
    first = views.conversation(local, "c1")["ticket"]["id"]
    # An automation closes the solved ticket; nothing tells ticketsync.
    local.help_desk.change_ticket(first, TicketChange(status="closed"))

    deliver(local, message("c1", content="The refund never arrived", message_id="m2"))
    settle(local)

    view = views.conversation(local, "c1")
    follow_up = view["ticket"]["id"]
    assert follow_up != first
    assert [(t["id"], t["status"]) for t in view["previous_tickets"]] == [(first, "closed")]
    assert view["pending_calls"] == 0
    ticket = local.help_desk.ticket(follow_up)
    assert ticket.follow_up_of == int(first)
    public = [(c.body, c.author) for c in ticket.comments if c.public]
    assert public == [("The refund never arrived", "requester")]  # once, as the customer
    summary = ticket.comments[0].body
    assert summary.startswith(f"FOLLOW-UP OF TICKET: {first}\n\nCUSTOMER ISSUE:\n")
    assert "The refund never arrived" in summary.split("AI AGENT RESPONSE:")[0]
    assert not local.store.calls("parked")

    events = trail(local, "c1")
    assert_every_cause_resolves(events)
    # Both calls the message asked for were refused: the reopen, then the comment.
    refusals = [e for e in events if e["type"] == "call.refused"]
    assert [e["data"]["kind"] for e in refusals] == ["change_ticket", "add_comment"]
    assert {e["data"]["status"] for e in refusals} == {422}
    assert {e["data"]["recovery"] for e in refusals} == {"follow_up"}
    assert all("closed" in e["data"]["error"] for e in refusals)
    found = [e for e in events if e["type"] == "ticket.found_closed"][-1]
    assert found["data"]["item"] == "message:m2"
    refused = refusals[-1]
    assert found["caused_by"] == {"position": refused["position"], "id": refused["id"]}
    requested = [e for e in events if e["type"] == "ticket.requested"][-1]
    assert requested["caused_by"] == {"position": found["position"], "id": found["id"]}
    assert requested["data"]["follow_up_of"] == first


def test_a_deleted_ticket_is_replaced(fake) -> None:
    container, desk = fake
    escalate(container)
    settle(container)
    del desk.tickets["1"]  # an agent deleted it

    deliver(container, message("c1", content="Anyone there?", message_id="m2"))
    settle(container)

    view = views.conversation(container, "c1")
    assert view["ticket"]["id"] == "2"
    assert [(t["id"], t["status"]) for t in view["previous_tickets"]] == [("1", "deleted")]
    replacement = desk.tickets["2"]
    assert replacement.ticket.follow_up_of is None
    assert replacement.ticket.summary.startswith("REPLACES TICKET: 1")
    assert [c.body for c in replacement.comments if c.public] == ["Anyone there?"]
    assert not container.store.calls("parked")
    events = trail(container, "c1")
    assert_every_cause_resolves(events)
    assert only(events, "call.refused")["data"]["recovery"] == "replace"
    assert only(events, "ticket.found_gone")["ticket"] == {"system": "fake", "id": "1"}


def test_a_refusal_a_person_must_see_is_parked_with_the_desks_words(fake) -> None:
    from ticketsync.adapters.ports import Permanent

    container, desk = fake
    escalate(container)
    settle(container)
    desk.fail("add_comment", Permanent("Zendesk answered 403: Forbidden: No access", status=403))
    deliver(container, message("c1", content="Hello?", message_id="m2"))
    settle(container)

    [parked] = container.store.calls("parked")
    assert parked.last_error == "Zendesk answered 403: Forbidden: No access"
    events = trail(container, "c1")
    assert_every_cause_resolves(events)
    assert only(events, "call.parked")["data"]["error"] == parked.last_error
    assert views.conversation(container, "c1")["ticket"]["id"] == "1"  # nothing recovered


def test_a_call_parked_for_a_closed_ticket_by_an_older_release_recovers_when_retried(
    local,
) -> None:
    """Older releases parked such a call and wrote `<call>.ticket.found_closed` for it; a
    retry's own entries must not collide with that one, or the message would be lost."""
    from datetime import UTC, datetime

    from ticketsync.service.store.entries import NewEntry

    escalate(local)
    deliver(local, payload("conversation.resolved", "c1", resolution="resolved"))
    settle(local)
    first = views.conversation(local, "c1")["ticket"]["id"]
    local.help_desk.change_ticket(first, TicketChange(status="closed"))
    position = deliver(local, message("c1", content="Hello again", message_id="m2"))
    now = datetime.now(UTC)
    local.log.append(
        [
            NewEntry(
                source="ticketsync",
                delivery_id=f"call-{position}-{index}.ticket.found_closed",
                type="ticket.found_closed.old",  # read by nothing: only its id matters here
                occurred_at=now,
                recorded_at=now,
                conversation_id="c1",
                data="{}",
            )
            for index in (0, 1)
        ]
    )
    settle(local)
    view = views.conversation(local, "c1")
    assert view["ticket"]["id"] != first
    ticket = local.help_desk.ticket(view["ticket"]["id"])
    assert [c.body for c in ticket.comments if c.public] == ["Hello again"]
