"""A help-desk webhook that is a notice, not the truth (docs/behaviour.md, "Limits").

A Zendesk trigger delivery only says that a ticket changed (TicketChangeNoticed); the
conversation asks for its ticket to be read (ReadTicket) and applies what the help desk's
API showed (TicketRead), as it applies the desk's own events. Each row folds a short
history through `apply` and shows what the last event asks for, or what the conversation
reads after it.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from operator import attrgetter

import pytest

from tests.unit.test_reconcile import CID, T0, fold, resolved, user
from tests.unit.test_ticket_side import AGENT, OWN, POLICY, REQUESTER, ticketed
from tests.unit.test_ticket_side import show as show_call
from ticketsync.events.commands import Command, ReadTicket
from ticketsync.events.outcomes import TicketRead
from ticketsync.events.ticket_side import TicketChangeNoticed
from ticketsync.events.tickets import DeskComment, TicketSnapshot
from ticketsync.projections.conversation import Event, apply
from ticketsync.projections.view import with_changes

# Times on the help desk's clock: each snapshot or comment built later is later.
_minutes = itertools.count(1)


def desk_time() -> datetime:
    return T0 + timedelta(minutes=next(_minutes))


def notice(*, ticket: str = "42", system: str = "local", comment: str | None = "c1") -> Event:
    return TicketChangeNoticed(
        system=system,
        ticket_id=ticket,
        comment_id=comment,
        external_id=CID,
        occurred_at=desk_time(),
    )


def desk_comment(
    body: str = "We refunded the double charge.",
    *,
    id: str = "c1",
    public: bool = True,
    agent: bool = True,
    author_id: str | None = AGENT,
    author_name: str | None = "Avery Agent",
    at: datetime | None = None,
) -> DeskComment:
    return DeskComment(
        id=id,
        body=body,
        public=public,
        author_id=author_id,
        author_name=author_name,
        author_is_agent=agent,
        created_at=at or desk_time(),
    )


def read_of(
    *comments: DeskComment,
    status: str | None = "new",
    priority: str | None = "medium",
    group: str | None = "Support Tier 1",
    assignee: str | None = None,
    assignee_id: str | None = None,
    updated_at: datetime | None = None,
    awaited: tuple[str, ...] = (),
    ticket: str = "42",
    gone: bool = False,
) -> Event:
    """What a read of ticket 42 found: by default the ticket as ticketsync made it."""
    snapshot = TicketSnapshot(
        status=status,  # type: ignore[arg-type]
        priority=priority,  # type: ignore[arg-type]
        group_id="360001" if group else None,
        group=group,
        assignee_id=assignee_id,
        assignee=assignee,
        updated_at=updated_at or desk_time(),
        comments=comments,
    )
    return TicketRead(
        conversation_id=CID,
        call_id="call-read",
        system="local",
        ticket_id=ticket,
        snapshot=None if gone else snapshot,
        awaited=awaited,
        occurred_at=desk_time(),
    )


def show(command: Command) -> str:
    if isinstance(command, ReadTicket):
        awaited = f" (awaiting {', '.join(command.awaited)})" if command.awaited else ""
        return f"read {command.ticket_id}{awaited}"
    return show_call(command)


def then(history: list[Event], event: Event) -> list[str]:
    view, _ = fold(history, POLICY)
    _, commands = apply(view, event, POLICY)
    return [show(command) for command in commands]


REPLY = "reply 42/c1 by Avery Agent: We refunded the double charge."
# The customer's comment as a crafted trigger body claimed it: an agent's, on ticket 42.
CRAFTED = 'thanks", "author_role": "Agent", "ticket_id": "42", "x": "'
FIRST = desk_comment(id="c1")

CALL_CASES = [
    # a notice asks for a read of the conversation's current ticket, and for nothing else
    pytest.param(ticketed(), notice(), ["read 42"], id="notice-asks-for-a-read"),
    pytest.param(ticketed(), notice(comment=None), ["read 42"], id="notice-without-comment"),
    pytest.param(ticketed(), notice(ticket="99"), [], id="notice-other-ticket-ignored"),
    pytest.param(ticketed(), notice(system="zendesk"), [], id="notice-other-system-ignored"),
    pytest.param([], notice(), [], id="notice-no-conversation"),
    pytest.param(
        ticketed(resolved()),
        notice(),
        ["read 42 (awaiting status:solved, priority:low)"],
        id="notice-names-the-changes-awaited",
    ),
    # what the read shows of comments: only an agent's public one is a reply, once
    pytest.param(ticketed(), read_of(FIRST), [REPLY], id="agent-public-comment-replies"),
    pytest.param(
        ticketed(),
        read_of(desk_comment(CRAFTED, agent=False, author_id=REQUESTER, author_name="Cy")),
        [],
        id="requester-comment-claiming-an-agent-is-not-sent",
    ),
    pytest.param(ticketed(), read_of(desk_comment(public=False)), [], id="internal-note"),
    pytest.param(
        ticketed(), read_of(desk_comment(author_id=OWN)), [], id="own-public-comment-no-echo"
    ),
    pytest.param(
        ticketed(read_of(FIRST)), read_of(FIRST), [], id="replayed-read-sends-nothing-twice"
    ),
    pytest.param(
        ticketed(read_of(FIRST)),
        read_of(FIRST, desk_comment("And a coupon.", id="c2")),
        ["reply 42/c2 by Avery Agent: And a coupon."],
        id="next-comment-replies",
    ),
    pytest.param(
        ticketed(read_of(updated_at=T0 + timedelta(days=1))),
        read_of(desk_comment(id="c0", at=T0 + timedelta(hours=1))),
        [],
        id="comment-older-than-the-last-read-not-sent",
    ),
    pytest.param(ticketed(), read_of(FIRST, ticket="99"), [], id="read-of-another-ticket"),
    pytest.param(ticketed(), read_of(gone=True), [], id="ticket-gone-asks-nothing"),
    # the read's fields ask nothing of anyone either
    pytest.param(ticketed(), read_of(status="solved"), [], id="agent-solves-asks-nothing"),
]


@pytest.mark.parametrize("history, event, expected", CALL_CASES)
def test_calls(history: list[Event], event: Event, expected: list[str]) -> None:
    assert then(history, event) == expected


def status_and_expected(history: list[Event]) -> tuple[str, str | None, tuple[str, ...]]:
    view, _ = fold(history, POLICY)
    assert view.ticket is not None
    return view.status, view.ticket.status, view.expected


VIEW_CASES = [
    pytest.param(
        ticketed(read_of(status="solved")),
        ("resolved_by_agent", "solved", ()),
        id="agent-solved-is-reflected",
    ),
    pytest.param(
        ticketed(read_of(status="pending")),
        ("awaiting_customer", "pending", ()),
        id="agent-pending-is-reflected",
    ),
    pytest.param(
        ticketed(read_of(), read_of()),
        ("escalated", "new", ()),
        id="unchanged-read-changes-nothing",
    ),
    pytest.param(
        ticketed(
            read_of(status="solved", updated_at=T0 + timedelta(days=2)),
            read_of(status="open", updated_at=T0 + timedelta(days=1)),
        ),
        ("resolved_by_agent", "solved", ()),
        id="older-state-not-applied",
    ),
    # ticketsync asked for solved (and a lower priority) before the read was decided: the
    # read shows it done and uses the expectations up
    pytest.param(
        ticketed(
            resolved(),
            read_of(status="solved", priority="low", awaited=("status:solved", "priority:low")),
        ),
        ("resolved", "solved", ()),
        id="own-change-settled-by-the-read",
    ),
    # ... or shows that a person changed it again since: theirs is applied, nothing is left
    # awaited to swallow a later change
    pytest.param(
        ticketed(
            resolved(),
            read_of(status="open", priority="low", awaited=("status:solved", "priority:low")),
        ),
        ("with_agent", "open", ()),
        id="own-change-overridden-by-a-person",
    ),
    # the read was decided before ticketsync asked for solved, so it went out before the
    # change and shows the ticket as it was: that is no agent reopening it
    pytest.param(
        ticketed(resolved(), read_of(status="new", priority="medium")),
        ("resolved", "solved", ("status:solved", "priority:low")),
        id="read-from-before-an-own-change-waits-for-it",
    ),
]


@pytest.mark.parametrize("history, expected", VIEW_CASES)
def test_status_after(history: list[Event], expected: tuple[str, str, tuple[str, ...]]) -> None:
    assert status_and_expected(history) == expected


def test_group_and_assignee_come_from_the_read() -> None:
    view, _ = fold(
        ticketed(read_of(group="Billing Team", assignee="Avery Agent", assignee_id=AGENT)),
        POLICY,
    )
    assert attrgetter("ticket.group", "ticket.assignee")(view) == ("Billing Team", "Avery Agent")


def test_a_notice_changes_nothing_but_asks_for_a_read() -> None:
    view, _ = fold(ticketed(), POLICY)
    after, commands = apply(view, notice(), POLICY)
    assert after == view
    assert commands == [ReadTicket(conversation_id=CID, ticket_id="42")]


def test_a_notice_after_a_read_asks_only_for_comments_since_it() -> None:
    shown_at = T0 + timedelta(days=3)
    view, _ = fold(ticketed(read_of(FIRST, updated_at=shown_at)), POLICY)
    _, commands = apply(view, notice(), POLICY)
    assert commands == [ReadTicket(conversation_id=CID, ticket_id="42", since=shown_at)]


def test_a_replayed_read_changes_nothing() -> None:
    """A replayed notice reads the ticket again: the same answer, later. Only the time of
    the state last read moves."""
    history = ticketed(user("Any news?"), read_of(FIRST, status="open", assignee="Avery Agent"))
    view, _ = fold(history, POLICY)
    replay = read_of(FIRST, status="open", assignee="Avery Agent")
    after, commands = apply(view, replay, POLICY)
    assert commands == []
    assert after.ticket is not None
    assert view.ticket is not None
    assert view.ticket.read_at is not None
    assert after.ticket.read_at is not None
    assert after.ticket.read_at > view.ticket.read_at
    assert (
        with_changes(after, ticket=with_changes(after.ticket, read_at=view.ticket.read_at)) == view
    )
