"""Explain: each rule of the ticket policy paired with its sentence, and the explanation
agreeing with the decision for every conversation, because both come from one function."""

from __future__ import annotations

import itertools

import pytest

from ticketsync.projections import policy as policies
from ticketsync.projections.explain import Waiting, explain, reasons, route, waiting
from ticketsync.projections.policy import Policy, needs_ticket, ticket_rules
from ticketsync.projections.view import Conversation, Item, Ticket

DEFAULT = Policy(chat_events=frozenset({"agent.replied"}))
ALWAYS = Policy(ticket_policy="always", chat_events=frozenset({"agent.replied"}))


def conversation(
    users: int = 0, tools: tuple[str, ...] = (), escalated: str | None = None, **more: object
) -> Conversation:
    items = tuple(Item(kind="user", key=f"m{n}", text=f"message {n}") for n in range(users))
    return Conversation(
        conversation_id="conv_1",
        items=items,
        tools=tools,
        escalation_reason=escalated,
        **more,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("view", "policy", "sentences"),
    [
        (
            conversation(users=1),
            DEFAULT,
            ["no ticket: not escalated, 1 user message (a ticket needs more than 3), no tool run"],
        ),
        (
            conversation(),
            ALWAYS,
            [
                "no ticket: not escalated, 0 user messages (a ticket needs more than 3), "
                "no tool run, the ticket policy is always, but there is no user message yet"
            ],
        ),
        (
            conversation(users=1, escalated="customer asked for a human"),
            DEFAULT,
            ["ticket requested because the conversation was escalated: customer asked for a human"],
        ),
        (
            conversation(users=4),
            DEFAULT,
            ["ticket requested because 4 user messages (more than 3)"],
        ),
        (
            conversation(users=2, tools=("order_lookup", "refund")),
            DEFAULT,
            ["ticket requested because 2 tool runs: order_lookup, refund"],
        ),
        (
            conversation(users=1),
            ALWAYS,
            ["ticket requested because the ticket policy is always, and there is 1 user message"],
        ),
        (
            conversation(
                users=5,
                ticket=Ticket(system="jira", id="OPS-7", status="open", status_name="In Progress"),
            ),
            DEFAULT,
            [
                "ticket requested because 5 user messages (more than 3)",
                "the ticket is jira:OPS-7 (In Progress)",
            ],
        ),
        (
            conversation(escalated="refund", ticket_requested=True),
            DEFAULT,
            [
                "ticket requested because the conversation was escalated: refund",
                "the ticket is being created",
            ],
        ),
    ],
)
def test_each_rule_says_what_it_decided(
    view: Conversation, policy: Policy, sentences: list[str]
) -> None:
    assert reasons(view, policy)[1] == sentences


def test_the_explanation_agrees_with_the_decision_for_every_kind_of_conversation() -> None:
    for users, tools, escalated, policy in itertools.product(
        range(6), [(), ("t",)], [None, "why"], [DEFAULT, ALWAYS]
    ):
        view = conversation(users=users, tools=tools, escalated=escalated)
        needs, said = reasons(view, policy)
        assert needs == needs_ticket(view, policy)
        assert said[0].startswith("ticket requested" if needs else "no ticket")
        held = [rule.name for rule in ticket_rules(view, policy) if rule.holds]
        assert len([s for s in said if s.startswith("ticket requested")]) == len(held)


def test_the_threshold_is_the_policys_own() -> None:
    limit = policies.USER_MESSAGES_FOR_A_TICKET
    assert not needs_ticket(conversation(users=limit), DEFAULT)
    assert needs_ticket(conversation(users=limit + 1), DEFAULT)


@pytest.mark.parametrize(
    ("intents", "primary", "because"),
    [
        ((), None, "Support Tier 1, medium: no intent detected (the default route)"),
        (
            ("billing_problem",),
            "billing_problem",
            "Billing Team, high: primary intent billing_problem",
        ),
        (
            ("weather", "billing_problem"),
            "weather",
            "Support Tier 1, medium: primary intent weather has no route (the default route)",
        ),
    ],
)
def test_the_route_says_which_intent_chose_it(
    intents: tuple[str, ...], primary: str | None, because: str
) -> None:
    view = conversation(intents=intents, primary_intent=primary)
    explained = route(view, DEFAULT)
    assert explained["because"] == because
    chosen = DEFAULT.routing.route_for(view.intents_by_priority())
    assert (explained["group"], explained["priority"]) == (chosen.group, chosen.priority)


@pytest.mark.parametrize(
    ("call", "sentence"),
    [
        (
            Waiting(
                call_id="call-3-0",
                kind="create_ticket",
                state="pending",
                attempts=3,
                last_error="Zendesk answered 503",
                due_in=40.2,
            ),
            "create_ticket, attempt 3, Zendesk answered 503, next try in 40 s",
        ),
        (
            Waiting(
                call_id="call-4-1",
                kind="add_comment",
                state="pending",
                attempts=0,
                last_error=None,
                due_in=-1,
            ),
            "add_comment, not tried yet, due now",
        ),
        (
            Waiting(
                call_id="call-5-0",
                kind="change_ticket",
                state="parked",
                attempts=25,
                last_error="Jira answered 403: no permission",
                due_in=0,
            ),
            "change_ticket, parked after 25 attempts, Jira answered 403: no permission; "
            "retry it with `ticketsync outbox retry call-5-0`",
        ),
    ],
)
def test_each_waiting_call_says_why_and_when(call: Waiting, sentence: str) -> None:
    assert waiting(call) == sentence


def test_the_whole_answer_has_the_contracts_keys() -> None:
    body = explain(conversation(users=1), DEFAULT, [])
    assert set(body) == {
        "conversation_id",
        "needs_ticket",
        "reasons",
        "route",
        "pending",
        "control",
    }
    assert body["control"] == (
        "the AI agent answers the customer (no one has taken the conversation over)"
    )
    assert body["needs_ticket"] is False
    assert body["pending"] == []
