"""The reconciliation policy: when a conversation is due a ticket, and where the ticket goes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ticketsync.projections.routing import BUILT_IN, RoutingTable
from ticketsync.projections.view import Conversation


@dataclass(frozen=True, kw_only=True)
class Policy:
    """How the reconciliation is configured: when a ticket is due, and where it goes."""

    system: str = "local"
    ticket_policy: Literal["default", "always"] = "default"
    routing: RoutingTable = BUILT_IN
    own_user_ids: tuple[str, ...] = ()  # the help-desk users ticketsync acts as
    replies: bool = True  # whether agents' replies go to the chat (a reply URL is set)
    # Whether the help desk reopens a closed ticket (Jira's done issues take comments and
    # transitions). Where it cannot (Zendesk, the built-in desk), a customer writing to a
    # closed ticket opens a follow-up ticket instead.
    closed_reopens: bool = False


def needs_ticket(view: Conversation, policy: Policy) -> bool:
    """Whether the conversation should have a ticket (CONTRACT section 4)."""
    # `always` adds every conversation with a user message; it never opens fewer tickets.
    if policy.ticket_policy == "always" and view.user_messages > 0:
        return True
    return view.escalation_reason is not None or bool(view.tools) or view.user_messages > 3
