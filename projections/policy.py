"""The reconciliation policy: when a conversation is due a ticket, and where the ticket goes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ticketsync.projections.routing import BUILT_IN, RoutingTable
from ticketsync.projections.view import Conversation

# Every type of what the chat is told (docs/behaviour.md, What the chat is told).
CHAT_EVENTS = frozenset(
    {"agent.replied", "ticket.created", "ticket.status_changed", "control.changed"}
)


@dataclass(frozen=True, kw_only=True)
class Policy:
    """How the reconciliation is configured: when a ticket is due, and where it goes."""

    system: str = "local"
    ticket_policy: Literal["default", "always"] = "default"
    routing: RoutingTable = BUILT_IN
    own_user_ids: tuple[str, ...] = ()  # the help-desk users ticketsync acts as
    replies: bool = True  # whether anything goes to the chat (a reply URL is set)
    # Which of the types of "what the chat is told" are sent (TICKETSYNC_CHAT_EVENTS).
    chat_events: frozenset[str] = CHAT_EVENTS
    # Whether the help desk reopens a closed ticket (Jira's done issues take comments and
    # transitions). Where it cannot (Zendesk, the built-in desk), a customer writing to a
    # closed ticket opens a follow-up ticket instead.
    closed_reopens: bool = False
    # Whether ticketsync's own changes come back as webhooks to be recognised. The built-in
    # desk sends none: waiting for its echo would swallow an agent's later change to the
    # same value.
    echoes: bool = True


# A conversation needs a ticket when it has more user messages than this (CONTRACT section 4).
USER_MESSAGES_FOR_A_TICKET = 3


@dataclass(frozen=True)
class Rule:
    """One of the rules that decide whether a conversation needs a ticket, as it stands for
    one conversation: whether it holds, and what it says about it."""

    name: Literal["escalated", "user_messages", "tools", "always"]
    holds: bool
    says: str


def ticket_rules(view: Conversation, policy: Policy) -> list[Rule]:
    """Every rule of the ticket policy for this conversation: the decision and its
    explanation both come from here (CONTRACT section 4)."""
    users = view.user_messages
    messages = f"{users} user message{'' if users == 1 else 's'}"
    tools = len(view.tools)
    rules = [
        Rule(
            "escalated",
            view.escalation_reason is not None,
            f"the conversation was escalated: {view.escalation_reason}"
            if view.escalation_reason is not None
            else "not escalated",
        ),
        Rule(
            "user_messages",
            users > USER_MESSAGES_FOR_A_TICKET,
            f"{messages} (more than {USER_MESSAGES_FOR_A_TICKET})"
            if users > USER_MESSAGES_FOR_A_TICKET
            else f"{messages} (a ticket needs more than {USER_MESSAGES_FOR_A_TICKET})",
        ),
        Rule(
            "tools",
            tools > 0,
            f"{tools} tool run{'' if tools == 1 else 's'}: {', '.join(view.tools)}"
            if tools
            else "no tool run",
        ),
    ]
    if policy.ticket_policy == "always":
        # `always` adds every conversation with a user message; it never opens fewer tickets.
        rules.append(
            Rule(
                "always",
                users > 0,
                f"the ticket policy is always, and there is {messages}"
                if users
                else "the ticket policy is always, but there is no user message yet",
            )
        )
    return rules


def needs_ticket(view: Conversation, policy: Policy) -> bool:
    """Whether the conversation should have a ticket (CONTRACT section 4)."""
    return any(rule.holds for rule in ticket_rules(view, policy))
