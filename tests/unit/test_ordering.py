"""Replayed and overtaken help-desk changes (docs/behaviour.md, "Limits"): a Jira change is
applied only when its changelog id is newer than the last one applied to that field.

The first table is the decision alone (projections/ordering.py); the second folds a short
history on a Jira ticket through `apply` and reads the conversation after the last event.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from operator import attrgetter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_reconcile import CID, escalated, fold, later, resolved, started, user
from tests.unit.test_ticket_side import AGENT, OWN, show
from ticketsync.events.outcomes import TicketCreated
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketCommentAdded,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.events.tickets import TicketRef
from ticketsync.projections.conversation import Conversation, Event, Policy, apply
from ticketsync.projections.ordering import decide_order
from ticketsync.projections.view import Known, Ticket
from ticketsync.service.store import codec

KEY = "OPS-12"
POLICY = Policy(system="jira", own_user_ids=(OWN,), closed_reopens=True)
T1 = datetime.fromisoformat("2026-11-25T10:00:00.001+00:00")
T2 = datetime.fromisoformat("2026-11-25T10:00:00.002+00:00")


# -- builders: Jira's side, every field defaulted ---------------------------------------------


def status(
    value: str = "solved",
    *,
    change: str | None = "10071",
    actor: str | None = AGENT,
    name: str | None = None,
    at: datetime | None = None,
) -> TicketStatusChanged:
    return TicketStatusChanged(
        system="jira",
        ticket_id=KEY,
        status=value,  # type: ignore[arg-type]
        previous=None,
        actor_id=actor,
        external_id=CID,
        occurred_at=at or later(),
        status_name=name or {"solved": "Done", "open": "In Progress"}[value],
        change_id=change,
    )


def priority(value: str, *, change: str | None, actor: str = AGENT) -> TicketPriorityChanged:
    return TicketPriorityChanged(
        system="jira",
        ticket_id=KEY,
        priority=value,  # type: ignore[arg-type]
        actor_id=actor,
        external_id=CID,
        occurred_at=later(),
        change_id=change,
    )


def assignee(name: str, *, change: str) -> TicketAssigneeChanged:
    return TicketAssigneeChanged(
        system="jira",
        ticket_id=KEY,
        assignee_id=f"id-{name}",
        assignee=name,
        actor_id=AGENT,
        external_id=CID,
        occurred_at=later(),
        change_id=change,
    )


def comment(id: str = "10100") -> TicketCommentAdded:
    return TicketCommentAdded(
        system="jira",
        ticket_id=KEY,
        comment_id=id,
        body="Refunded, sorry!",
        public=True,
        author_id=AGENT,
        author_name="Avery Agent",
        author_is_agent=True,
        external_id=CID,
        occurred_at=later(),
    )


def knowing(*known: tuple[str, str, datetime]) -> Ticket:
    return Ticket(
        system="jira",
        id=KEY,
        known=tuple(Known(field=f, change_id=c, at=at) for f, c, at in known),
    )


# -- the decision -----------------------------------------------------------------------------

ORDER_CASES = [
    pytest.param(knowing(), status(change="10071"), "new", id="first-change-of-a-ticket"),
    pytest.param(knowing(), status(change=None), "unordered", id="no-change-id-not-judged"),
    pytest.param(
        knowing(("status", "10071", T1)), status(change="10071"), "replayed", id="same-change"
    ),
    pytest.param(
        knowing(("status", "10071", T1)), status(change="10072"), "new", id="newer-change"
    ),
    pytest.param(
        knowing(("status", "10072", T2)), status(change="10071"), "older", id="older-change"
    ),
    pytest.param(
        knowing(("status", "9999", T1)), status(change="10000"), "new", id="ids-compare-as-numbers"
    ),
    pytest.param(
        knowing(("status", "10072", T1)),
        status(change="10071", at=T2),
        "older",
        id="ids-decide-over-times",
    ),
    pytest.param(
        knowing(("status", "10072", T2)),
        priority("high", change="10071"),
        "new",
        id="each-field-its-own-order",
    ),
    pytest.param(
        knowing(("priority", "10072", T2)),
        priority("high", change="10071"),
        "older",
        id="older-priority",
    ),
    pytest.param(
        knowing(("assignee", "10072", T2)),
        assignee("Bo", change="10072"),
        "replayed",
        id="replayed-assignee",
    ),
    pytest.param(
        knowing(("status", "cl-b", T2)),
        status(change="cl-a", at=T1),
        "older",
        id="ids-not-numbers-earlier-time-older",
    ),
    pytest.param(
        knowing(("status", "cl-a", T1)),
        status(change="cl-b", at=T1),
        "new",
        id="ids-not-numbers-same-millisecond-another-change",
    ),
    pytest.param(
        knowing(("status", "cl-a", T1)),
        status(change="cl-a", at=T1),
        "replayed",
        id="ids-not-numbers-same-change",
    ),
]


@pytest.mark.parametrize("ticket, event, expected", ORDER_CASES)
def test_decide_order(ticket: Ticket, event: TicketStatusChanged, expected: str) -> None:
    assert decide_order(ticket, event) == expected


# -- what the conversation reads after --------------------------------------------------------


def jira_ticketed(*more: Event) -> list[Event]:
    """A conversation escalated into Jira issue OPS-12 (To Do, medium), then `more`."""
    created = TicketCreated(
        conversation_id=CID,
        call_id="call-1",
        ticket=TicketRef(system="jira", id=KEY, status="new", status_name="To Do"),
        occurred_at=later(),
    )
    return [started(), user("My invoice is wrong"), escalated(), created, *more]


SOLVED = status("solved", change="10071")
REOPENED = status("open", change="10072")
URGENT = priority("urgent", change="10073")
LOWERED = priority("low", change="10074")
STATE = attrgetter("status", "ticket.status", "ticket.status_name")

VIEW_CASES = [
    pytest.param(
        jira_ticketed(SOLVED, REOPENED),
        SOLVED,
        STATE,
        ("with_agent", "open", "In Progress"),
        id="replayed-solve-does-not-undo-the-reopen",
    ),
    pytest.param(
        jira_ticketed(REOPENED),
        SOLVED,
        STATE,
        ("with_agent", "open", "In Progress"),
        id="older-change-after-a-newer-not-applied",
    ),
    pytest.param(
        jira_ticketed(SOLVED),
        REOPENED,
        STATE,
        ("with_agent", "open", "In Progress"),
        id="newer-change-applied",
    ),
    pytest.param(
        jira_ticketed(URGENT, LOWERED),
        URGENT,
        attrgetter("ticket.priority"),
        "low",
        id="replayed-priority-does-not-change-back",
    ),
    pytest.param(
        jira_ticketed(LOWERED),
        REOPENED,
        STATE,
        ("with_agent", "open", "In Progress"),
        id="status-older-than-a-priority-change-still-applied",
    ),
    pytest.param(
        jira_ticketed(assignee("Bo", change="10075")),
        assignee("Al", change="10070"),
        attrgetter("ticket.assignee"),
        "Bo",
        id="older-assignee-not-applied",
    ),
    # ticketsync's own change: known once its webhook names its changelog id, never before
    pytest.param(
        jira_ticketed(resolved()),
        status("open", change="10080"),
        STATE,
        ("with_agent", "open", "In Progress"),
        id="own-change-without-echo-blocks-nothing",
    ),
    pytest.param(
        jira_ticketed(resolved(), status("solved", change="10080", actor=OWN)),
        status("open", change="10081"),
        STATE,
        ("with_agent", "open", "In Progress"),
        id="agent-change-after-own-echo-applied",
    ),
    pytest.param(
        jira_ticketed(resolved(), status("solved", change="10080", actor=OWN)),
        status("open", change="10079"),
        STATE,
        ("resolved", "solved", "Done"),
        id="agent-change-before-own-echo-delivered-late-not-applied",
    ),
    pytest.param(
        jira_ticketed(resolved(), status("open", change="10081")),
        status("solved", change="10080", actor=OWN),
        attrgetter("status", "ticket.status", "expected"),
        ("with_agent", "open", ("priority:low",)),
        id="own-echo-overtaken-used-up-not-applied",
    ),
    pytest.param(
        jira_ticketed(resolved(), status("solved", change="10080", actor=OWN), user("Not fixed")),
        status("solved", change="10080", actor=OWN),
        attrgetter("status", "ticket.status", "expected"),
        ("open", "open", ("priority:low", "status:open")),
        id="replayed-echo-uses-up-nothing",
    ),
]


@pytest.mark.parametrize("history, event, read, expected", VIEW_CASES)
def test_conversation_after(history, event, read, expected) -> None:
    view, _ = fold([*history, event], POLICY)
    assert read(view) == expected


def test_replayed_comment_reaches_the_chat_once() -> None:
    view, _ = fold(jira_ticketed(), POLICY)
    view, first = apply(view, comment(), POLICY)
    _, again = apply(view, comment(), POLICY)
    assert ([show(c) for c in first], again) == (
        ["reply OPS-12/10100 by Avery Agent: Refunded, sorry!"],
        [],
    )


REPLY = comment()
LATER_ON = jira_ticketed(SOLVED, REOPENED, URGENT, LOWERED, REPLY)


@pytest.mark.parametrize(
    "event",
    [SOLVED, REOPENED, URGENT, LOWERED, REPLY],
    ids=["solve", "reopen", "urgent", "lowered", "comment"],
)
def test_a_replay_asks_nothing_and_changes_nothing(event: Event) -> None:
    view, _ = fold(LATER_ON, POLICY)
    assert apply(view, event, POLICY) == (view, [])


def test_what_is_known_survives_the_stored_read_model() -> None:
    """The projector stores each conversation and reads it back for the next page."""
    view, _ = fold(jira_ticketed(SOLVED, URGENT), POLICY)
    stored = codec.loads(Conversation, codec.dumps(view))
    assert stored == view
    assert stored.ticket is not None
    assert [(k.field, k.change_id) for k in stored.ticket.known] == [
        ("status", "10071"),
        ("priority", "10073"),
    ]
    replayed = dataclasses.replace(SOLVED, occurred_at=later())
    assert apply(stored, replayed, POLICY) == (stored, [])


# -- however Jira orders and repeats its deliveries -------------------------------------------

FIELD_VALUES = {
    "status": ("solved", "open"),
    "priority": ("urgent", "high", "low"),
    "assignee": ("Al", "Bo"),
}
CHANGES = st.lists(
    st.sampled_from([(field, value) for field, values in FIELD_VALUES.items() for value in values]),
    min_size=1,
    max_size=8,
)


def change(field: str, value: str, change_id: str) -> Event:
    if field == "status":
        return status(value, change=change_id)
    if field == "priority":
        return priority(value, change=change_id)
    return assignee(value, change=change_id)


@settings(max_examples=300, deadline=None)
@given(changes=CHANGES, data=st.data())
def test_the_newest_change_of_each_field_wins_whatever_the_delivery_order(changes, data) -> None:
    """Agents' changes, delivered in any order, each at least once and some again: the
    ticket ends as the newest change of each field left it."""
    made = [change(field, value, str(30_000 + n)) for n, (field, value) in enumerate(changes)]
    order = data.draw(st.permutations(made), label="delivery order")
    again = data.draw(st.lists(st.sampled_from(made), max_size=6), label="replays")
    at = data.draw(st.lists(st.integers(0, len(order)), min_size=len(again), max_size=len(again)))
    deliveries = list(order)
    for event, index in sorted(zip(again, at, strict=True), key=lambda pair: -pair[1]):
        deliveries.insert(index, event)
    view, _ = fold(jira_ticketed(), POLICY)
    assert view.ticket is not None
    start = {"status": view.ticket.status, "priority": view.ticket.priority, "assignee": None}
    for event in deliveries:
        view, _ = apply(view, event, POLICY)

    newest = {**start, **dict(changes)}  # a later (newer) change of a field overwrites
    assert view.ticket is not None
    ended = {"status": view.ticket.status, "priority": view.ticket.priority}
    assert {**ended, "assignee": view.ticket.assignee} == newest
