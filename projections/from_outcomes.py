"""What the outcome of ticketsync's own calls (events/outcomes.py) does to the conversation.

A created ticket is linked and given what happened while it was being made; a ticket the
help desk refused a call for (closed or gone) is left behind, and what the call carried goes
to the ticket that takes the conversation next.
"""

from __future__ import annotations

from ticketsync.events.commands import AddComment, Command
from ticketsync.events.outcomes import TicketCreated, TicketFoundClosed, TicketFoundGone
from ticketsync.events.tickets import Comment
from ticketsync.projections import notes
from ticketsync.projections.policy import Policy
from ticketsync.projections.settle import settle, status_wanted
from ticketsync.projections.ticket_sync import request_ticket, set_requester, sync_item, sync_tags
from ticketsync.projections.view import Conversation, Item, Ticket, with_changes


def created(
    view: Conversation, event: TicketCreated, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """Link the new ticket, then send what happened while it was being created."""
    if view.ticket is not None and view.ticket.id == event.ticket.id:
        return view, []
    create = view.pending_create
    previous = view.previous_tickets
    if view.ticket is not None and view.ticket.id != event.ticket.id:
        previous = (*previous, view.ticket)
    ticket = Ticket(
        system=event.ticket.system,
        id=event.ticket.id,
        url=event.ticket.url,
        status=event.ticket.status or "new",
        status_name=event.ticket.status_name,
        priority=create.ticket.priority if create else None,
        group=create.ticket.group if create else None,
    )
    included = create.included if create else ()
    tagged = create.tags if create else ()
    view = with_changes(
        view,
        ticket=ticket,
        ticket_requested=False,
        pending_create=None,
        previous_tickets=previous,
        synced=included,
        tagged=tagged,
        expected=(),
    )
    commands: list[Command] = [
        AddComment(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            comment=Comment(
                body=notes.link_note(
                    conversation_id=view.conversation_id,
                    message_count=view.message_count,
                    tools=view.tools,
                    intents=view.intents,
                    transcript=[
                        (item.kind, item.text)
                        for item in view.items
                        if item.key in included and item.kind in ("user", "assistant")
                    ],
                ),
                public=False,
            ),
        )
    ]
    if create is not None and create.ticket.requester is None and view.customer is not None:
        # Known since the create was sent; set first, so the customer's comments are theirs.
        view, more = set_requester(view)
        commands += more
    for item in view.items:
        if item.key not in included:
            view, more = sync_item(view, item)
            commands += more
    view, more = sync_tags(view)
    commands += more
    wanted = status_wanted(view)
    # An escalation the create did not cover asks for `open`, even when an earlier one was covered.
    if wanted is None and any(i.kind == "escalation" and i.key not in included for i in view.items):
        wanted = "open"
    if wanted is not None and wanted != ticket.status:
        view, more = settle(view, wanted)
        commands += more
    return view, commands


def refused(
    view: Conversation, event: TicketFoundClosed | TicketFoundGone, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """A help desk refused a call because its ticket is closed or gone: carry on without it.

    What the refused call carried is not lost: a customer's message goes to the ticket that
    takes the conversation next (a follow-up of a closed ticket, a new ticket for a deleted
    one), as its first public comment; the rest is in that ticket's summary and transcript.
    """
    found = [item for item in view.items if item.key == event.item]
    carried = found[0] if found and found[0].kind == "user" else None
    ticket = view.ticket
    if ticket is None or ticket.id != event.ticket_id:
        if view.ticket_requested and event.ticket_id in [t.id for t in view.previous_tickets]:
            # The ticket being made replaces the refused one: it takes the message too.
            return _carry_to_pending(view, carried), []
        # The conversation had moved on already: the message goes to its ticket now.
        if (
            carried is None
            or carried.key in view.synced  # on it already, or in its transcript
            or event.ticket_id not in [t.id for t in view.previous_tickets]
            or ticket is None
            or view.ticket_requested
            or ticket.status in ("closed", "deleted")
        ):
            return view, []
        return sync_item(view, carried)
    gone = isinstance(event, TicketFoundGone)
    view = with_changes(view, ticket=with_changes(ticket, status="deleted" if gone else "closed"))
    if view.ticket_requested:
        # A next ticket is being made already: it takes the message once it exists.
        return _carry_to_pending(view, carried), []
    if gone:
        view = with_changes(
            view,
            ticket=None,
            previous_tickets=(*view.previous_tickets, view.ticket),
            synced=(),
            tagged=(),
            expected=(),
        )
        view, create = request_ticket(view, policy, lead=carried, replaces=ticket.id)
        return view, [create]
    if carried is None:
        return view, []  # a closed ticket waits for the customer to write again
    if policy.closed_reopens:
        return sync_item(view, carried)
    view, create = request_ticket(view, policy, lead=carried)
    return view, [create]


def _carry_to_pending(view: Conversation, carried: Item | None) -> Conversation:
    """The ticket being created sends `carried` as a comment once it exists, instead of
    covering it only in its notes."""
    create = view.pending_create
    if carried is None or create is None or carried.key not in create.included:
        return view
    included = tuple(key for key in create.included if key != carried.key)
    return with_changes(view, pending_create=with_changes(create, included=included))
