"""Every event the log stores, by the name it is stored under.

A delivery's typed event is stored beside its raw body as `{"event": <name>, "data":
<fields>}`, and ticketsync's own entries (outcomes, the built-in desk's agent actions)
carry their event's fields under their entry type, which is the same name. The names are
part of the stored format: a class may be renamed, its name here may not.
"""

from __future__ import annotations

from ticketsync.events.chat import CHAT_EVENT_TYPES
from ticketsync.events.outcomes import (
    TicketCreated,
    TicketFoundClosed,
    TicketFoundGone,
    TicketRead,
)
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketChangeNoticed,
    TicketCommentAdded,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)

# The help desk's side: from Zendesk's and Jira's webhooks and the built-in desk's agents.
# A notice (Zendesk's trigger deliveries) says only which ticket changed.
TICKET_SIDE_TYPES: dict[str, type] = {
    "ticket.comment_added": TicketCommentAdded,
    "ticket.status_changed": TicketStatusChanged,
    "ticket.priority_changed": TicketPriorityChanged,
    "ticket.group_changed": TicketGroupChanged,
    "ticket.assignee_changed": TicketAssigneeChanged,
    "ticket.change_noticed": TicketChangeNoticed,
}

# What the outbox records of a call's outcome that the conversation must know, and what a
# read of a ticket found.
OUTCOME_TYPES: dict[str, type] = {
    "ticket.created": TicketCreated,
    "ticket.found_closed": TicketFoundClosed,
    "ticket.found_gone": TicketFoundGone,
    "ticket.read": TicketRead,
}

EVENT_TYPES: dict[str, type] = {**CHAT_EVENT_TYPES, **TICKET_SIDE_TYPES, **OUTCOME_TYPES}
EVENT_NAMES: dict[type, str] = {kind: name for name, kind in EVENT_TYPES.items()}
