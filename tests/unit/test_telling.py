"""What the chat is told, and who holds the conversation (docs/behaviour.md, What the chat is
told; Control): each row folds a short history through `apply` and shows, one line per fact,
what the last event tells the chat, and who holds the conversation after it.
"""

from __future__ import annotations

import pytest

from tests.unit.test_reconcile import (
    CID,
    created,
    escalated,
    fold,
    found_closed,
    resolved,
    retimed,
    started,
    user,
    users,
)
from tests.unit.test_ticket_side import OWN, comment, status
from ticketsync.events.commands import (
    Command,
    TellControlChanged,
    TellStatusChanged,
    TellTicketCreated,
)
from ticketsync.projections import control
from ticketsync.projections.conversation import Policy, apply
from ticketsync.projections.policy import CHAT_EVENTS

POLICY = Policy(own_user_ids=(OWN,))
JIRA = Policy(own_user_ids=(OWN,), closed_reopens=True)


def told(command: Command) -> str | None:
    """A fact told to the chat as one line; None for the help desk"s calls."""
    if isinstance(command, TellControlChanged):
        ticket = f" ({command.ticket.id})" if command.ticket else ""
        return f"#{command.number} control: {command.holder}, {command.reason}{ticket}"
    if isinstance(command, TellTicketCreated):
        follows = f", follows {command.follows.id}" if command.follows else ""
        return f"#{command.number} created {command.ticket.id} {command.ticket.status}{follows}"
    if isinstance(command, TellStatusChanged):
        return (
            f"#{command.number} status {command.ticket.id}: {command.previous_status} -> "
            f"{command.ticket.status} (conversation {command.conversation_status})"
        )
    return None


def tells(history: list, event, policy: Policy = POLICY) -> tuple[list[str], str]:
    """What `event` tells the chat after `history`, and who holds the conversation then."""
    view, _ = fold(history, policy)
    view, commands = apply(view, retimed(event), policy)
    return [line for line in map(told, commands) if line], view.control.holder


ESCALATED = [started(), user(), escalated(), created()]
SOLVED = [*ESCALATED, status("solved")]
CLOSED = [*ESCALATED, status("closed")]

CASES = [
    pytest.param(
        [started(), user()],
        escalated(),
        ["#1 control: human, escalated"],
        "human",
        id="escalation-hands-to-a-human",
    ),
    pytest.param(
        [started(), user(), escalated()],
        created(),
        ["#2 created 42 new"],
        "human",
        id="the-ticket-made-is-told-as-the-desk-made-it",
    ),
    pytest.param(
        [started(), *users(3)],
        user(),
        [],
        "agent",
        id="a-ticket-asked-for-by-the-rule-does-not-change-hands",
    ),
    pytest.param(
        [started(), *users(4)],
        created(),
        ["#1 created 42 new"],
        "agent",
        id="a-ticket-not-escalated-is-told-and-the-agent-keeps-it",
    ),
    pytest.param(
        [started(), *users(4), created()],
        comment(),
        ["#2 control: human, agent_replied (42)"],
        "human",
        id="a-humans-reply-takes-a-conversation-never-escalated",
    ),
    pytest.param(
        [*ESCALATED],
        comment(),
        [],
        "human",
        id="a-reply-while-a-human-holds-it-changes-nothing",
    ),
    pytest.param(
        [*ESCALATED],
        comment(public=False),
        [],
        "human",
        id="an-internal-note-tells-nothing",
    ),
    pytest.param(
        [started(), *users(4), created()],
        comment(author_id=OWN),
        [],
        "agent",
        id="our-own-comment-coming-back-hands-nothing",
    ),
    pytest.param(
        [*ESCALATED],
        status("solved"),
        [
            "#3 control: agent, ticket_solved (42)",
            "#4 status 42: new -> solved (conversation resolved_by_agent)",
        ],
        "agent",
        id="a-solve-hands-it-back",
    ),
    pytest.param(
        [*ESCALATED],
        status("closed"),
        [
            "#3 control: agent, ticket_closed (42)",
            "#4 status 42: new -> closed (conversation closed)",
        ],
        "agent",
        id="a-close-hands-it-back",
    ),
    pytest.param(
        [*ESCALATED],
        status("pending"),
        ["#3 status 42: new -> pending (conversation awaiting_customer)"],
        "human",
        id="pending-stays-with-the-human",
    ),
    pytest.param(
        [*ESCALATED],
        status("open", actor=OWN),
        [],
        "human",
        id="our-own-status-coming-back-tells-nothing",
    ),
    pytest.param(
        [*ESCALATED],
        resolved(),
        [
            "#3 control: agent, conversation_resolved (42)",
            "#4 status 42: new -> solved (conversation resolved)",
        ],
        "agent",
        id="the-chat-resolving-hands-it-back-and-the-status-follows",
    ),
    pytest.param(
        SOLVED,
        user("It broke again"),
        ["#5 control: human, reopened (42)", "#6 status 42: solved -> open (conversation open)"],
        "human",
        id="the-customer-reopening-a-solved-ticket-takes-it-again",
    ),
    pytest.param(
        CLOSED,
        user("It broke again"),
        ["#5 control: human, reopened (42)"],
        "human",
        id="a-message-to-a-closed-ticket-asks-a-follow-up-and-takes-it-again",
    ),
    pytest.param(
        [*CLOSED, user("It broke again")],
        created("43"),
        ["#6 created 43 new, follows 42"],
        "human",
        id="the-follow-up-is-told-with-what-it-follows",
    ),
    pytest.param(
        [started(), *users(4), created(), user("Hello?", id="m9")],
        found_closed(item="message:m9"),
        ["#2 control: human, reopened (42)", "#3 status 42: new -> closed (conversation open)"],
        "human",
        id="a-message-to-a-ticket-found-closed-asks-a-follow-up-and-takes-it",
    ),
    pytest.param(
        [started(), *users(4), created()],
        found_closed(),
        ["#2 status 42: new -> closed (conversation open)"],  # the agent holds it already
        "agent",
        id="found-closed-alone-hands-nothing-to-a-human",
    ),
]


@pytest.mark.parametrize(("history", "event", "expected", "holder"), CASES)
def test_what_the_chat_is_told(history, event, expected, holder) -> None:
    lines, held = tells(history, event)
    assert lines == expected
    assert held == holder


def test_a_jira_issue_reopened_by_the_customer_is_taken_back() -> None:
    lines, held = tells(CLOSED, user("It broke again"), JIRA)
    assert lines == [
        "#5 control: human, reopened (42)",
        "#6 status 42: closed -> open (conversation open)",
    ]
    assert held == "human"


def test_no_change_is_told_while_the_holder_stays() -> None:
    # Escalated twice: the second hands nothing, since a human holds it already.
    lines, held = tells([started(), user(), escalated()], escalated("again"))
    assert [line for line in lines if "control" in line] == []
    assert held == "human"


def test_every_reason_hands_to_its_holder_and_each_is_in_a_row() -> None:
    assert set(control.REASONS.values()) == {"agent", "human"}
    shown = {value for row in CASES for value in row.values[2] if "control:" in value}
    reasons = {line.split(", ")[1].split(" ")[0] for line in shown}
    assert reasons == set(control.REASONS)


def test_facts_are_numbered_whatever_the_chat_is_sent() -> None:
    only_control = Policy(own_user_ids=(OWN,), chat_events=frozenset({"control.changed"}))
    view, commands = fold([*ESCALATED, status("solved")], only_control)
    assert [told(c) for c in commands if told(c)] == [
        "#1 control: human, escalated",
        "#3 control: agent, ticket_solved (42)",
    ]
    assert view.facts == 4
    everything, _ = fold([*ESCALATED, status("solved")], POLICY)
    assert everything.facts == view.facts
    assert everything.control.holder == view.control.holder
    assert everything.control.reason == view.control.reason


def test_no_reply_url_tells_nothing_but_the_control_is_kept() -> None:
    silent = Policy(own_user_ids=(OWN,), replies=False)
    view, commands = fold(ESCALATED, silent)
    assert [told(c) for c in commands if told(c)] == []
    assert (view.control.holder, view.control.reason) == ("human", "escalated")
    assert view.control.since is not None


def test_every_type_is_a_chat_event() -> None:
    assert {"ticket.created", "ticket.status_changed", "control.changed"} < CHAT_EVENTS
    assert CID


def test_explain_says_who_answers_and_why() -> None:
    from ticketsync.projections.explain import HANDED, holder

    assert set(HANDED) == set(control.REASONS)
    view, _ = fold(ESCALATED)
    assert holder(view) == (
        "people answer the customer: the conversation was escalated; the AI agent stays quiet"
    )
    view, _ = fold([*ESCALATED, status("solved")])
    assert holder(view) == "the AI agent answers the customer again: the ticket was solved"


def test_finding_the_ticket_closed_after_an_escalation_gives_nothing_back_to_the_agent() -> None:
    # The view thinks the ticket solved; the desk closed it since. The customer escalates,
    # and the call that reopens it finds it closed: a person was asked for, and stays.
    lines, held = tells([*ESCALATED, status("solved"), escalated("again, please")], found_closed())
    assert held == "human"
    assert not [line for line in lines if "control" in line]


def test_a_change_from_a_status_never_told_is_not_told_from_it() -> None:
    view, _ = fold([*ESCALATED, status("deleted")])
    _, commands = apply(view, retimed(status("open")), POLICY)
    assert [told(c) for c in commands if told(c) and "status" in told(c)] == []
