"""What a change on the help desk's side (events/ticket_side.py) means for the conversation.

Only the conversation's current ticket counts. A change the help desk orders by its own ids
(Jira's changelog) is applied only when it is newer than the last one applied to that field
(projections/ordering.py), though an echo it matches is still used up. A change ticketsync
asked for comes back as an echo and is used up; a change by ticketsync's own help-desk user
is ignored; an agent's public comment becomes a reply to the chat, once per comment id.
"""

from __future__ import annotations

from ticketsync.events.commands import Command, SendReply
from ticketsync.events.ticket_side import (
    TicketCommentAdded,
    TicketEvent,
    TicketGroupChanged,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from ticketsync.projections import ordering
from ticketsync.projections.policy import Policy
from ticketsync.projections.view import Conversation, with_changes

# How an agent's status change reads on the conversation (CONTRACT section 4).
AGENT_STATUS: dict[str, str] = {
    "solved": "resolved_by_agent",
    "pending": "awaiting_customer",
    "open": "with_agent",
    "hold": "with_agent",
    "closed": "closed",
}


def ticket_changed(
    view: Conversation, event: TicketEvent, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """What a change on the help desk's side means for the conversation."""
    ticket = view.ticket
    if ticket is None or ticket.system != event.system or ticket.id != event.ticket_id:
        return view, []  # not this conversation's current ticket: kept in the log, no more
    news = True
    if not isinstance(event, TicketCommentAdded):
        order = ordering.decide_order(ticket, event)
        if order == "replayed":
            return view, []  # applied already; its echo, if it was one, was used up then
        news = ordering.applies(order)
        if news and event.change_id is not None:
            ticket = ordering.remember(ticket, event)
            view = with_changes(view, ticket=ticket)
    echo = (
        f"status:{event.status}"
        if isinstance(event, TicketStatusChanged)
        else f"priority:{event.priority}"
        if isinstance(event, TicketPriorityChanged)
        else None
    )
    if echo is not None and echo in view.expected:
        # The help desk confirming a change ticketsync asked for. Used up whoever it names as
        # actor: a leftover would swallow an agent's later change to the same value.
        index = view.expected.index(echo)
        view = with_changes(view, expected=view.expected[:index] + view.expected[index + 1 :])
        if news and isinstance(event, TicketStatusChanged) and event.status_name is not None:
            view = with_changes(view, ticket=with_changes(ticket, status_name=event.status_name))
        return view, []
    if not news:
        return view, []  # replayed, or overtaken by a newer change of the same field
    actor = event.author_id if isinstance(event, TicketCommentAdded) else event.actor_id
    if actor is not None and actor in policy.own_user_ids:
        return view, []  # ticketsync's own change coming back: no echo
    if isinstance(event, TicketCommentAdded):
        if not (event.public and event.author_is_agent) or event.comment_id in view.replied:
            return view, []
        view = with_changes(view, replied=(*view.replied, event.comment_id))
        if not policy.replies or "agent.replied" not in policy.chat_events:
            return view, []
        return view, [
            SendReply(
                conversation_id=view.conversation_id,
                system=event.system,
                ticket_id=event.ticket_id,
                comment_id=event.comment_id,
                author_name=event.author_name,
                body=event.body,
                sent_at=event.occurred_at,
            )
        ]
    if isinstance(event, TicketStatusChanged):
        status = AGENT_STATUS.get(event.status, view.status)
        return with_changes(
            view,
            ticket=with_changes(ticket, status=event.status, status_name=event.status_name),
            status=status,
        ), []
    if isinstance(event, TicketPriorityChanged):
        # A person's change supersedes a lowered priority whose echo never came (the
        # built-in desk sends none): waiting for it would swallow their next change.
        expected = tuple(e for e in view.expected if not e.startswith("priority:"))
        return with_changes(
            view, ticket=with_changes(ticket, priority=event.priority), expected=expected
        ), []
    if isinstance(event, TicketGroupChanged):
        return with_changes(
            view, ticket=with_changes(ticket, group=event.group or event.group_id)
        ), []
    return with_changes(
        view, ticket=with_changes(ticket, assignee=event.assignee or event.assignee_id)
    ), []
