"""A notice that a ticket changed, and what reading the ticket from the help desk found.

Some help-desk webhooks cannot be believed: a Zendesk trigger's body is a template into
which Zendesk pastes what people wrote, so a customer's comment can close its string and go
on to name another ticket, another comment and an agent as its author (docs/behaviour.md,
"Limits"). Such a delivery is stored as a notice (TicketChangeNoticed: "ticket N changed"),
and all a notice does is ask for the ticket to be read from the help desk's API
(ReadTicket). The answer (TicketRead) is ticketsync's own log entry, so a rebuild applies
it again without a call, and it is applied as the help desk's own events are
(from_help_desk.py), from what the API said and nothing the notice said:

- each comment the read shows, oldest first, is a comment added: an agent's public one
  becomes a reply, once (`replied`); one by ticketsync's own user causes nothing;
- the ticket's status and priority, where they differ from what the conversation holds,
  are a person's change. The changes ticketsync asked for before the read was decided are
  settled by it, whatever it shows. A change asked for after it goes out after the read,
  which cannot show it, so that field waits for the change's own notice and read;
- its group and assignee, where they differ.

A replayed notice reads the same ticket again and changes nothing. A read showing an older
state than one already applied (the desk's `updated_at`) applies no field, and comments
older than the last read's state were shown by that read already.
"""

from __future__ import annotations

from collections import Counter

from ticketsync.events.commands import Command, ReadTicket
from ticketsync.events.outcomes import TicketRead
from ticketsync.events.ticket_side import (
    TicketAssigneeChanged,
    TicketChangeNoticed,
    TicketCommentAdded,
    TicketEvent,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.events.tickets import DeskComment, TicketSnapshot
from ticketsync.projections.from_help_desk import ticket_changed
from ticketsync.projections.policy import Policy
from ticketsync.projections.view import Conversation, with_changes


def noticed(
    view: Conversation, event: TicketChangeNoticed, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """A notice about the conversation's current ticket asks for the ticket to be read."""
    ticket = view.ticket
    if ticket is None or ticket.system != event.system or ticket.id != event.ticket_id:
        return view, []  # not this conversation's current ticket: kept in the log, no more
    return view, [
        ReadTicket(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            awaited=view.expected,
            since=ticket.read_at,
        )
    ]


def read(
    view: Conversation, event: TicketRead, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """What the help desk's API showed of the conversation's current ticket."""
    ticket = view.ticket
    snapshot = event.snapshot
    if (
        snapshot is None  # gone: the next change ticketsync sends finds out and replaces it
        or ticket is None
        or ticket.system != event.system
        or ticket.id != event.ticket_id
    ):
        return view, []
    commands: list[Command] = []
    since = ticket.read_at
    for comment in snapshot.comments:
        if since is not None and comment.created_at is not None and comment.created_at < since:
            continue  # the desk changed the ticket after it, and the last read showed that
        view, more = ticket_changed(view, _comment_added(event, comment), policy)
        commands += more
    if since is not None and (snapshot.updated_at is None or snapshot.updated_at < since):
        return view, commands  # an older state than the one applied
    view = with_changes(view, ticket=with_changes(view.ticket, read_at=snapshot.updated_at))
    view, status = _settle(view, "status", event.awaited)
    view, priority = _settle(view, "priority", event.awaited)
    for change in _changes(view, event, snapshot, status=status, priority=priority):
        view, more = ticket_changed(view, change, policy)
        commands += more
    return view, commands


def _settle(view: Conversation, field: str, awaited: tuple[str, ...]) -> tuple[Conversation, bool]:
    """Use up ticketsync's own changes of `field` (`status`, `priority`) that the read shows,
    and say whether the read's value may be applied.

    Each was asked for before the read was decided, so it went out before the read: the read
    shows it, or a person's change after it. One asked for later (more of them awaited now
    than then) is not in the read yet, and the field is left to its own read.
    """
    prefix = f"{field}:"
    mine = Counter(e for e in view.expected if e.startswith(prefix))
    if mine - Counter(e for e in awaited if e.startswith(prefix)):
        return view, False
    if mine:
        view = with_changes(view, expected=tuple(e for e in view.expected if e not in mine))
    return view, True


def _changes(
    view: Conversation,
    event: TicketRead,
    snapshot: TicketSnapshot,
    *,
    status: bool,
    priority: bool,
) -> list[TicketEvent]:
    """The fields the read shows otherwise than the conversation holds, as the help desk's
    events would say them: by no one ticketsync knows, as a read does not say who."""
    ticket = view.ticket
    assert ticket is not None
    common: dict[str, object] = {
        "system": event.system,
        "ticket_id": event.ticket_id,
        "actor_id": None,
        "external_id": None,
        "occurred_at": snapshot.updated_at or event.occurred_at,
    }
    changes: list[TicketEvent] = []
    if status and snapshot.status is not None and snapshot.status != ticket.status:
        changes.append(
            TicketStatusChanged(status=snapshot.status, previous=ticket.status, **common)  # type: ignore[arg-type]
        )
    if priority and snapshot.priority != ticket.priority:
        changes.append(TicketPriorityChanged(priority=snapshot.priority, **common))  # type: ignore[arg-type]
    if (snapshot.group or snapshot.group_id) != ticket.group:
        changes.append(
            TicketGroupChanged(group_id=snapshot.group_id, group=snapshot.group, **common)  # type: ignore[arg-type]
        )
    if (snapshot.assignee or snapshot.assignee_id) != ticket.assignee:
        changes.append(
            TicketAssigneeChanged(
                assignee_id=snapshot.assignee_id,
                assignee=snapshot.assignee,
                **common,  # type: ignore[arg-type]
            )
        )
    return changes


def _comment_added(event: TicketRead, comment: DeskComment) -> TicketCommentAdded:
    return TicketCommentAdded(
        system=event.system,
        ticket_id=event.ticket_id,
        comment_id=comment.id,
        body=comment.body,
        public=comment.public,
        author_id=comment.author_id,
        author_name=comment.author_name,
        author_is_agent=comment.author_is_agent,
        external_id=None,
        occurred_at=comment.created_at or event.occurred_at,
    )
