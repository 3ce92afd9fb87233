"""The ticket status a conversation asks for, and the changes ticketsync waits to see echoed.

A resolution asks its ticket for a status (CONTRACT section 4), and `resolved` and
`duplicate` lower its priority one step. Every status or priority change ticketsync sends
is remembered in `Conversation.expected` until the help desk's webhook for it comes back,
so that the echo is not taken for an agent's change.
"""

from __future__ import annotations

from ticketsync.events.commands import ChangeTicket, Command
from ticketsync.events.tickets import TicketChange, TicketStatus
from ticketsync.projections.view import Conversation, with_changes

# What each resolution asks of the ticket (CONTRACT section 4).
RESOLUTION_STATUS: dict[str, TicketStatus] = {
    "resolved": "solved",
    "pending_customer": "pending",
    "duplicate": "closed",
}
# Resolutions that also lower the ticket's priority one step (CONTRACT section 4).
LOWERS_PRIORITY = frozenset({"resolved", "duplicate"})
LOWER_PRIORITY: dict[str, str] = {"urgent": "high", "high": "medium", "medium": "low"}
# Status changes ticketsync asked for whose webhooks have not come back yet. Few are ever
# outstanding; the bound only keeps a help desk that never echoes from growing the list.
MAX_EXPECTED = 16


def status_wanted(view: Conversation) -> TicketStatus | None:
    """The status the conversation's latest turn asks of its ticket, if any."""
    if view.resolution is not None:
        return RESOLUTION_STATUS[view.resolution]
    return None


def set_status(view: Conversation, status: TicketStatus) -> tuple[Conversation, list[Command]]:
    """Give the current ticket `status`, unless it has it already."""
    assert view.ticket is not None
    if view.ticket.status == status:
        return view, []
    expected = (*view.expected, f"status:{status}")[-MAX_EXPECTED:]
    ticket = with_changes(view.ticket, status=status, status_name=None)  # named by its echo
    return with_changes(view, ticket=ticket, expected=expected), [
        ChangeTicket(
            conversation_id=view.conversation_id,
            ticket_id=view.ticket.id,
            change=TicketChange(status=status),
        )
    ]


def settle(view: Conversation, status: TicketStatus) -> tuple[Conversation, list[Command]]:
    """Give the ticket the status the conversation's resolution asks for.

    `resolved` and `duplicate` also lower the ticket's priority one step, in the same
    change, once per ticket: a conversation that is reopened and resolved again does not
    sink its ticket further.
    """
    ticket = view.ticket
    assert ticket is not None
    lowered = LOWER_PRIORITY.get(ticket.priority or "")
    if (
        view.resolution not in LOWERS_PRIORITY
        or lowered is None
        or view.lowered == ticket.id
        or ticket.status == status
    ):
        return set_status(view, status)
    expected = (*view.expected, f"status:{status}", f"priority:{lowered}")[-MAX_EXPECTED:]
    return with_changes(
        view,
        ticket=with_changes(ticket, status=status, status_name=None, priority=lowered),
        expected=expected,
        lowered=ticket.id,
    ), [
        ChangeTicket(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            change=TicketChange(status=status, priority=lowered),  # type: ignore[arg-type]
        )
    ]
