"""The Zendesk adapter over real HTTP against the in-repo Zendesk emulator."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulators.zendesk import ZendeskEmulator, serve
from ticketsync.adapters.ports import (
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Retryable,
    TicketClosed,
)
from ticketsync.adapters.zendesk.api import ZendeskHelpDesk
from ticketsync.events.tickets import Comment, NewTicket, Requester, TicketChange, TicketRef

CONVERSATION_FIELD = 360_001
SUMMARY_FIELD = 360_002
SUMMARY = "CUSTOMER ISSUE:\nI was charged twice\n\nCONVERSATION LENGTH: 4 messages"
RITA = Requester(name="Rita Requester", email="rita@example.com", external_id="cust_1")


@pytest.fixture
def emulator() -> ZendeskEmulator:
    return ZendeskEmulator(email="sync-bot@example.com", api_token="emulator-secret")


@pytest.fixture
def base_url(emulator: ZendeskEmulator) -> Iterator[str]:
    with serve(emulator) as url:
        yield url


@pytest.fixture
def desk(base_url: str, emulator: ZendeskEmulator) -> Iterator[ZendeskHelpDesk]:
    adapter = ZendeskHelpDesk(
        base_url,
        emulator.email,
        emulator.api_token,
        conversation_field_id=CONVERSATION_FIELD,
        summary_field_id=SUMMARY_FIELD,
        timeout=1.0,  # drop_after_commit() withholds the answer until the read timeout.
    )
    yield adapter
    adapter.close()


def new_ticket(**fields: Any) -> NewTicket:
    defaults: dict[str, Any] = {
        "external_id": "conv_42",
        "subject": "[billing_problem] Charged twice",
        "requester": RITA,
        "group": "Billing Team",
        "priority": "high",
        "tags": ("billing", "urgent", "billing_problem"),
        "summary": SUMMARY,
    }
    return NewTicket(**{**defaults, **fields})


def create(desk: ZendeskHelpDesk, key: str = "cmd-1", **fields: Any) -> TicketRef:
    return desk.create_ticket(new_ticket(**fields), idempotency_key=key)


def closed(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> TicketRef:
    ref = create(desk, key="cmd-closed")
    emulator.act_as_agent(int(ref.id), status="solved")
    emulator.act_as_agent(int(ref.id), status="closed")
    return ref


# ---------------------------------------------------------------------- creating


def test_create_sets_every_field(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator, base_url: str
) -> None:
    ref = create(desk)

    assert ref == TicketRef(
        system="zendesk", id=ref.id, url=f"{base_url}/agent/tickets/{ref.id}", status="new"
    )
    ticket = emulator.ticket(int(ref.id))
    [rita] = [u for u in emulator.users() if u["email"] == "rita@example.com"]
    assert rita["name"] == "Rita Requester"
    assert {
        key: ticket[key]
        for key in (
            "subject",
            "priority",
            "group_id",
            "tags",
            "external_id",
            "requester_id",
            "submitter_id",
            "custom_fields",
        )
    } == {
        "subject": "[billing_problem] Charged twice",
        "priority": "high",
        "group_id": emulator.group_id("Billing Team"),
        "tags": ["billing", "urgent", "billing_problem"],
        "external_id": "conv_42",
        "requester_id": rita["id"],
        "submitter_id": emulator.api_user_id,
        "custom_fields": [
            {"id": CONVERSATION_FIELD, "value": "conv_42"},
            {"id": SUMMARY_FIELD, "value": SUMMARY},
        ],
    }
    [note] = emulator.comments(int(ref.id))
    assert (note["body"], note["public"], note["author_id"]) == (
        SUMMARY,
        False,
        emulator.api_user_id,
    )
    [request] = emulator.creates()
    assert request.headers["idempotency-key"] == "cmd-1"


def test_medium_priority_is_normal_and_unknown_group_is_left_out(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    ref = create(desk, priority="medium", group="No Such Team")

    ticket = emulator.ticket(int(ref.id))
    assert (ticket["priority"], ticket["group_id"]) == ("normal", None)


def test_groups_are_read_once(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    create(desk, key="cmd-1")
    create(desk, key="cmd-2", group="Engineering")

    assert len(emulator.requests("GET", r"/api/v2/groups")) == 1
    assert [t["group_id"] for t in emulator.tickets()] == [
        emulator.group_id("Billing Team"),
        emulator.group_id("Engineering"),
    ]


def test_replayed_key_creates_one_ticket(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    first = create(desk, key="cmd-1")
    again = create(desk, key="cmd-1")

    assert again == first
    assert len(emulator.tickets()) == 1
    assert len(emulator.creates()) == 2


def test_find_tickets_oldest_first(desk: ZendeskHelpDesk) -> None:
    first = create(desk, key="cmd-1")
    create(desk, key="cmd-2", external_id="conv_other")
    second = create(desk, key="cmd-3")

    assert desk.find_tickets("conv_42") == [first, second]
    assert desk.find_tickets("conv_nobody") == []


def test_follow_up_of_a_closed_ticket(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    parent = closed(desk, emulator)

    follow_up = create(desk, key="cmd-follow-up", follow_up_of=parent.id, tags=("billing",))

    ticket = emulator.ticket(int(follow_up.id))
    assert ticket["via"]["source"]["rel"] == "follow_up"
    assert ticket["via"]["source"]["from"]["ticket_id"] == int(parent.id)
    assert ticket["tags"] == ["billing"]
    assert emulator.ticket(int(parent.id))["followup_ids"] == [int(follow_up.id)]
    assert [ref.id for ref in desk.find_tickets("conv_42")] == [parent.id, follow_up.id]


# ---------------------------------------------------------------------- comments


def test_public_comment_by_the_requester(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    ref = create(desk)

    desk.add_comment(ref.id, Comment(body="It happened again", public=True, by_requester=True))
    desk.add_comment(ref.id, Comment(body="And again", public=True, by_requester=True))

    requester_id = emulator.ticket(int(ref.id))["requester_id"]
    comments = emulator.comments(int(ref.id))[1:]
    assert [(c["body"], c["public"], c["author_id"]) for c in comments] == [
        ("It happened again", True, requester_id),
        ("And again", True, requester_id),
    ]
    assert len(emulator.requests("GET", rf"/api/v2/tickets/{ref.id}")) == 1  # Cached.


def test_internal_note_is_by_the_api_user(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    ref = create(desk)

    desk.add_comment(ref.id, Comment(body="Tool lookup_order ran", public=False))

    note = emulator.comments(int(ref.id))[-1]
    assert (note["body"], note["public"]) == ("Tool lookup_order ran", False)
    assert str(note["author_id"]) == desk.api_user_id() == str(emulator.api_user_id)


def test_has_comment(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    ref = create(desk)
    desk.add_comment(ref.id, Comment(body="first", public=False))
    emulator.act_as_agent(int(ref.id), comment="Hello from an agent")

    assert desk.has_comment(ref.id, SUMMARY) is True
    assert desk.has_comment(ref.id, "first") is True
    assert desk.has_comment(ref.id, "Hello from an agent") is True
    assert desk.has_comment(ref.id, "firs") is False


def test_has_comment_over_many_pages(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    ref = create(desk)
    for n in range(120):
        emulator.act_as_agent(int(ref.id), comment=f"reply {n}", public=False)

    assert desk.has_comment(ref.id, SUMMARY) is True  # The oldest, on the second page.
    assert desk.has_comment(ref.id, "reply 999") is False
    assert len(emulator.requests("GET", rf"/api/v2/tickets/{ref.id}/comments")) == 4


def test_requester_comment_reopens_a_solved_ticket(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    ref = create(desk)
    emulator.act_as_agent(int(ref.id), status="solved")

    desk.add_comment(ref.id, Comment(body="Not fixed", public=True, by_requester=True))

    assert emulator.ticket(int(ref.id))["status"] == "open"


# ---------------------------------------------------------------------- changing


def test_change_status_priority_group_and_tags(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    ref = create(desk)

    after = desk.change_ticket(
        ref.id,
        TicketChange(
            status="pending",
            priority="urgent",
            group="Retention",
            assignee=str(emulator.agent_id),
            add_tags=("churn", "billing"),
        ),
    )

    assert after == TicketRef(system="zendesk", id=ref.id, url=ref.url, status="pending")
    ticket = emulator.ticket(int(ref.id))
    assert (ticket["priority"], ticket["group_id"], ticket["assignee_id"]) == (
        "urgent",
        emulator.group_id("Retention"),
        emulator.agent_id,
    )
    assert ticket["tags"] == ["billing", "urgent", "billing_problem", "churn"]


def test_adding_tags_alone_keeps_the_others(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    ref = create(desk)

    after = desk.change_ticket(ref.id, TicketChange(add_tags=("cancellation_intent",)))

    assert after.status == "new"
    assert emulator.ticket(int(ref.id))["tags"][-2:] == ["billing_problem", "cancellation_intent"]


def test_reopen_a_solved_ticket(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    ref = create(desk)
    emulator.act_as_agent(int(ref.id), status="solved")

    assert desk.change_ticket(ref.id, TicketChange(status="open")).status == "open"
    assert emulator.ticket(int(ref.id))["status"] == "open"


def test_close_goes_through_solved(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    ref = create(desk)
    desk.change_ticket(ref.id, TicketChange(status="open"))

    after = desk.change_ticket(ref.id, TicketChange(status="closed"))

    assert after.status == "closed"
    assert emulator.ticket(int(ref.id))["status"] == "closed"
    puts = emulator.requests("PUT", rf"/api/v2/tickets/{ref.id}")
    assert [r.json["ticket"]["status"] for r in puts] == ["open", "closed", "solved", "closed"]


def test_closing_a_closed_ticket_again_is_done(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    ref = closed(desk, emulator)

    assert desk.change_ticket(ref.id, TicketChange(status="closed")).status == "closed"


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(
            lambda desk, ticket_id: desk.add_comment(ticket_id, Comment(body="x", public=True)),
            id="comment",
        ),
        pytest.param(
            lambda desk, ticket_id: desk.change_ticket(ticket_id, TicketChange(priority="low")),
            id="priority",
        ),
        pytest.param(
            lambda desk, ticket_id: desk.change_ticket(ticket_id, TicketChange(add_tags=("x",))),
            id="tags",
        ),
        pytest.param(
            lambda desk, ticket_id: desk.change_ticket(ticket_id, TicketChange(status="open")),
            id="reopen",
        ),
    ],
)
def test_closed_ticket_refuses_changes(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator, act: Any
) -> None:
    ref = closed(desk, emulator)

    with pytest.raises(TicketClosed) as raised:
        act(desk, ref.id)

    assert raised.value.status == 422
    assert len(emulator.comments(int(ref.id))) == 1


def test_missing_ticket_is_not_found(desk: ZendeskHelpDesk) -> None:
    with pytest.raises(NotFound) as raised:
        desk.add_comment("999", Comment(body="x", public=False))

    assert raised.value.status == 404


# ---------------------------------------------------------------------- failures


def test_rate_limited_with_retry_after(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    emulator.fail_next(1, status=429, retry_after=7, method="POST")

    with pytest.raises(RateLimited) as raised:
        create(desk)

    assert (raised.value.status, raised.value.retry_after) == (429, 7.0)
    assert emulator.tickets() == []
    assert create(desk).id == "1"


def test_rate_limited_with_a_text_body(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    emulator.fail_next(1, status=429, body="You have exceeded the rate limit")

    with pytest.raises(RateLimited) as raised:
        desk.find_tickets("conv_42")

    assert raised.value.retry_after == 60.0
    assert "You have exceeded the rate limit" in raised.value.detail


def test_service_unavailable_is_retryable(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    emulator.fail_next(1, status=503, retry_after=12, method="POST")

    with pytest.raises(Retryable) as raised:
        create(desk)

    assert type(raised.value) is Retryable
    assert (raised.value.status, raised.value.retry_after) == (503, 12.0)
    assert emulator.tickets() == []


def test_dropped_answer_is_an_unknown_outcome_and_the_ticket_exists(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    emulator.drop_after_commit(1, method="POST")

    with pytest.raises(OutcomeUnknown) as raised:
        create(desk)

    assert raised.value.status is None
    [found] = desk.find_tickets("conv_42")
    # Sending again with the same key gives back the ticket the first call made.
    assert create(desk) == found
    assert len(emulator.tickets()) == 1


def test_nothing_listening_is_retryable(emulator: ZendeskEmulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    desk = ZendeskHelpDesk(f"http://127.0.0.1:{port}", "a@b.c", "t", timeout=1.0)
    with desk, pytest.raises(Retryable) as raised:
        desk.find_tickets("conv_42")

    assert type(raised.value) is Retryable
    assert raised.value.status is None


def test_wrong_token_is_permanent(base_url: str, emulator: ZendeskEmulator) -> None:
    desk = ZendeskHelpDesk(base_url, emulator.email, "wrong", timeout=1.0)
    with desk, pytest.raises(Permanent) as raised:
        desk.api_user_id()

    assert type(raised.value) is Permanent
    assert raised.value.status == 401
    assert "Couldn't authenticate you" in raised.value.detail


def test_requester_set_on_a_ticket_made_without_one(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    ref = create(desk, requester=None)
    api_user = emulator.ticket(int(ref.id))["requester_id"]  # Zendesk's default: the caller
    desk.add_comment(ref.id, Comment(body="Before", public=True, by_requester=True))

    desk.change_ticket(ref.id, TicketChange(requester=RITA))

    ticket = emulator.ticket(int(ref.id))
    [rita] = [u for u in emulator.users() if u["email"] == "rita@example.com"]
    assert ticket["requester_id"] == rita["id"] != api_user
    assert rita["name"] == "Rita Requester"
    # The customer's comments from now on are theirs, not the cached earlier requester's.
    desk.add_comment(ref.id, Comment(body="After", public=True, by_requester=True))
    authors = [(c["body"], c["author_id"]) for c in emulator.comments(int(ref.id))[1:]]
    assert authors == [("Before", api_user), ("After", rita["id"])]


def test_requester_without_name_or_email_changes_nothing(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    ref = create(desk, requester=None)
    before = emulator.ticket(int(ref.id))["requester_id"]
    desk.change_ticket(ref.id, TicketChange(requester=Requester(external_id="cust_9")))
    assert emulator.ticket(int(ref.id))["requester_id"] == before
    assert not emulator.requests("POST", r"/api/v2/users/create_or_update")


def test_a_read_shows_who_wrote_each_comment_as_zendesk_records_them(
    desk: ZendeskHelpDesk, emulator: ZendeskEmulator
) -> None:
    ref = create(desk)
    number = int(ref.id)
    emulator.act_as_requester(number, 'thanks", "author_role": "Agent", "x": "')
    emulator.act_as_agent(number, comment="Refunded.", status="pending", priority="urgent")
    desk.add_comment(ref.id, Comment(body="AI agent: noted", public=False))

    snapshot = desk.read_ticket(ref.id)

    assert snapshot is not None
    assert (snapshot.status, snapshot.priority, snapshot.group) == (
        "pending",
        "urgent",
        "Billing Team",
    )
    assert snapshot.updated_at is not None
    shown = [(c.body, c.public, c.author_is_agent, c.author_id) for c in snapshot.comments]
    assert shown == [
        (SUMMARY, False, True, str(emulator.api_user_id)),
        ('thanks", "author_role": "Agent", "x": "', True, False, shown[1][3]),
        ("Refunded.", True, True, str(emulator.agent_id)),
        ("AI agent: noted", False, True, str(emulator.api_user_id)),
    ]
    requester = next(u for u in emulator.users() if u["email"] == RITA.email)
    assert shown[1][3] == str(requester["id"])


def test_a_deleted_ticket_reads_as_gone(desk: ZendeskHelpDesk, emulator: ZendeskEmulator) -> None:
    ref = create(desk)
    emulator.delete_ticket(int(ref.id))

    assert desk.read_ticket(ref.id) is None
