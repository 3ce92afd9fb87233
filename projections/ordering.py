"""Whether a change the help desk tells of is news for ticketsync, or one it knows already.

Jira deduplicates its deliveries by `X-Atlassian-Webhook-Identifier`, which its signature
does not cover, so a captured delivery can be sent again under a new identifier
(docs/behaviour.md, "Limits"). Ingest answers such a replay as a duplicate by the changelog
or comment id its signed body names; this rule is the second layer, pure and rebuilt with
the read models, and it also covers what ingest cannot: an older change that Jira's retries
delivered after a newer one. A change's own id (`change_id`: Jira's changelog `id`, which
grows across a site) is remembered per field of the ticket once the change is applied
(`Ticket.known`), and a later change of that field whose id is not newer is not applied.

What ticketsync "knows" is only what the help desk said, by its own ids and its own clock.
A change ticketsync makes itself (the status a resolution sets) is known to this rule once
its webhook comes back naming its changelog id, not before; ticketsync's own clock never
enters the comparison, so its writes cannot hold back an agent's next change however far
the two clocks differ.

Ids decide when both are whole numbers, as Jira's are: two changes in one millisecond share
a `timestamp`. Otherwise the change's time decides (Jira's `timestamp`, epoch milliseconds),
and a change as old as the known one still passes unless it is that same change. Per field,
not per ticket: a priority change overtaken by a later status change is still news for the
priority. A change that names no id (the built-in desk's, Zendesk's) is not judged here.
Comments are not ordered; each reaches the chat once, by its id (`Conversation.replied`).
"""

from __future__ import annotations

from typing import Literal

from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.projections.view import Known, Ticket, with_changes

Change = TicketStatusChanged | TicketPriorityChanged | TicketGroupChanged | TicketAssigneeChanged

FIELD: dict[type, str] = {
    TicketStatusChanged: "status",
    TicketPriorityChanged: "priority",
    TicketGroupChanged: "group",
    TicketAssigneeChanged: "assignee",
}

# new: applied. unordered: names no id, applied as it comes. replayed: this very change was
# applied already. older: a newer change of the same field was applied already.
Order = Literal["new", "unordered", "replayed", "older"]


def decide_order(ticket: Ticket, event: Change) -> Order:
    """Whether `event` is news for `ticket`'s field, judged by the help desk's own ids."""
    if event.change_id is None:
        return "unordered"
    known = known_of(ticket, FIELD[type(event)])
    if known is None:
        return "new"
    if event.change_id == known.change_id:
        return "replayed"
    if _whole(event.change_id) and _whole(known.change_id):
        return "new" if int(event.change_id) > int(known.change_id) else "older"
    return "new" if event.occurred_at >= known.at else "older"


def applies(order: Order) -> bool:
    return order in ("new", "unordered")


def remember(ticket: Ticket, event: Change) -> Ticket:
    """`ticket` knowing `event` as the newest change of its field (when it names an id)."""
    if event.change_id is None:
        return ticket
    field = FIELD[type(event)]
    kept = tuple(known for known in ticket.known if known.field != field)
    newest = Known(field=field, change_id=event.change_id, at=event.occurred_at)
    return with_changes(ticket, known=(*kept, newest))


def known_of(ticket: Ticket, field: str) -> Known | None:
    for known in ticket.known:
        if known.field == field:
            return known
    return None


def _whole(change_id: str) -> bool:
    # ASCII digits only: str.isdigit() also takes '²', which int() refuses.
    return change_id.isascii() and change_id.isdigit() and len(change_id) <= 30
