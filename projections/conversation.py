"""The conversation projection: `apply(view, event, policy)`, one pure step per event.

`apply` returns the conversation after the event and the outbox commands the event asks for
("given this, the ticket should now be ..."). Nothing here performs I/O; the projection
runner stores the view and the commands in one transaction.

Duplicates are harmless: the log stores a delivery once, and messages are also keyed by
their `message_id`. Events may arrive before `conversation.started`; nothing is dropped.

Where the parts live, all in projections/:

    view.py            the read model (Conversation, Ticket, Item)
    policy.py          Policy, and when a conversation is due a ticket
    from_chat.py       what each chat event does
    from_outcomes.py   a ticket created, or found closed or gone
    from_help_desk.py  a change on the help desk's side
    from_reads.py      a notice that a ticket changed, and what reading the ticket found
    ticket_sync.py     the ticket to create, and the comments, tags and requester it gets
    settle.py          the status a resolution asks for, and the echoes awaited
"""

from __future__ import annotations

from ticketsync.events.chat import (
    ChatEvent,
    ConversationEscalated,
    ConversationResolved,
    ConversationStarted,
    IntentsDetected,
    MessageCreated,
    NoteAdded,
    ToolExecuted,
)
from ticketsync.events.commands import Command
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
    TicketEvent,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.projections import (
    from_chat,
    from_help_desk,
    from_outcomes,
    from_reads,
    telling,
)
from ticketsync.projections.policy import Policy
from ticketsync.projections.view import Conversation, with_changes

__all__ = ["Conversation", "Event", "Policy", "apply"]

Event = (
    ChatEvent
    | TicketCreated
    | TicketFoundClosed
    | TicketFoundGone
    | TicketEvent
    | TicketChangeNoticed
    | TicketRead
)


def apply(view: Conversation, event: Event, policy: Policy) -> tuple[Conversation, list[Command]]:
    """The conversation after `event`, and the calls the event asks for.

    Raises TypeError for an event the projection does not know.
    """
    before = view
    view, commands = _apply(view, event, policy)
    if view is not before:
        view, first, last = telling.facts(before, view, event, policy, event.occurred_at)
        if first or last:
            commands = [*first, *commands, *last]
    if view.expected and not policy.echoes:
        view = with_changes(view, expected=())  # nothing will come back to use them up
    return view, commands


def _apply(view: Conversation, event: Event, policy: Policy) -> tuple[Conversation, list[Command]]:
    if isinstance(event, ConversationStarted):
        return from_chat.started(view, event, policy)
    if isinstance(event, MessageCreated):
        return from_chat.message(view, event, policy)
    if isinstance(event, ToolExecuted):
        return from_chat.tool_executed(view, event, policy)
    if isinstance(event, IntentsDetected):
        return from_chat.intents_detected(view, event, policy)
    if isinstance(event, ConversationEscalated):
        return from_chat.escalated(view, event, policy)
    if isinstance(event, ConversationResolved):
        return from_chat.resolved(view, event, policy)
    if isinstance(event, NoteAdded):
        return from_chat.note_added(view, event, policy)
    if isinstance(event, TicketCreated):
        return from_outcomes.created(view, event, policy)
    if isinstance(
        event,
        TicketCommentAdded
        | TicketStatusChanged
        | TicketPriorityChanged
        | TicketGroupChanged
        | TicketAssigneeChanged,
    ):
        return from_help_desk.ticket_changed(view, event, policy)
    if isinstance(event, TicketFoundClosed | TicketFoundGone):
        return from_outcomes.refused(view, event, policy)
    if isinstance(event, TicketChangeNoticed):
        return from_reads.noticed(view, event, policy)
    if isinstance(event, TicketRead):
        return from_reads.read(view, event, policy)
    raise TypeError(f"unknown event {type(event).__name__}")
