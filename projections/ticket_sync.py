"""Putting a conversation on its ticket: the ticket to create, then its comments, tags and requester.

Each function takes the conversation and returns it with the outbox commands that bring
the ticket up to date; none looks at an event, so every event's handler can use them.
"""

from __future__ import annotations

from ticketsync.events.chat import Customer
from ticketsync.events.commands import AddComment, ChangeTicket, Command, CreateTicket
from ticketsync.events.tickets import Comment, NewTicket, Requester, TicketChange
from ticketsync.projections import notes
from ticketsync.projections.policy import Policy
from ticketsync.projections.routing import ticket_tags
from ticketsync.projections.settle import set_status
from ticketsync.projections.view import Conversation, Item, with_changes


def request_ticket(
    view: Conversation, policy: Policy, *, lead: Item | None = None, replaces: str | None = None
) -> tuple[Conversation, CreateTicket]:
    """Ask for the conversation's next ticket.

    `lead` is a customer's message that the new ticket must show as its first public
    comment, from the requester: it is left out of what the create covers, so it is sent
    once the ticket exists. A follow-up's summary leads with it.
    """
    route = policy.routing.route_for(view.intents_by_priority())
    tags = ticket_tags(route, view.intents)
    users = [item.text for item in view.items if item.kind == "user"]
    assistants = [item.text for item in view.items if item.kind == "assistant"]
    requester = requester_of(view.customer)
    number = view.tickets_requested + 1
    follows = view.ticket.id if view.ticket and view.ticket.status == "closed" else None
    known = tuple(ticket.id for ticket in view.previous_tickets)
    if view.ticket is not None:
        known += (view.ticket.id,)
    if follows is not None and lead is not None:
        issue: str | None = lead.text
    else:
        issue = users[0] if users else None
    command = CreateTicket(
        conversation_id=view.conversation_id,
        number=number,
        ticket=NewTicket(
            external_id=view.conversation_id,
            subject=notes.subject(view.primary_intent, view.subject, view.conversation_id),
            requester=requester,
            group=route.group,
            priority=route.priority,
            tags=tags,
            summary=notes.summary_note(
                first_user_message=issue,
                last_assistant_message=assistants[-1] if assistants else None,
                message_count=view.message_count,
                tools=view.tools,
                escalation_reason=view.escalation_reason,
                follows=follows,
                replaces=replaces,
            ),
            follow_up_of=follows,
        ),
        included=tuple(item.key for item in view.items if covers(view, item, lead)),
        tags=tags,
        known_tickets=known,
    )
    return (
        with_changes(
            view,
            ticket_requested=True,
            tickets_requested=number,
            pending_create=command,
        ),
        command,
    )


def covers(view: Conversation, item: Item, lead: Item | None) -> bool:
    """Whether the ticket about to be created shows `item` without a comment of its own.

    Its summary and transcript show the messages, tools and escalation; a customer's `lead`
    message is sent as a comment. The AI agent's notes have no place in either: each is sent
    as an internal note once the ticket exists, in order, unless the ticket this one follows
    has it already.
    """
    if lead is not None and item.key == lead.key:
        return False
    return item.kind != "note" or item.key in view.synced


def sync_item(
    view: Conversation, item: Item, *, reopen: bool = True
) -> tuple[Conversation, list[Command]]:
    """Put one conversation item on the current ticket."""
    ticket = view.ticket
    assert ticket is not None
    commands: list[Command] = []
    comment = comment_for(item)
    # A closed ticket gets here only on a help desk that reopens closed tickets.
    if item.kind == "user" and ticket.status in ("solved", "pending", "closed"):
        if reopen:
            view, commands = set_status(view, "open")
        else:
            # Written before the resolution: on the ticket, without the reopen a help desk
            # makes of its requester writing to a solved ticket.
            comment = with_changes(comment, keep_status=ticket.status)
    commands.append(
        AddComment(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            comment=comment,
            item=item.key,
        )
    )
    return with_changes(view, synced=(*view.synced, item.key)), commands


def sync_tags(view: Conversation) -> tuple[Conversation, list[Command]]:
    """Add the detected intents the current ticket is not tagged with yet."""
    assert view.ticket is not None
    new_tags = tuple(intent for intent in view.intents if intent not in view.tagged)
    if not new_tags:
        return view, []
    return with_changes(view, tagged=(*view.tagged, *new_tags)), [
        ChangeTicket(
            conversation_id=view.conversation_id,
            ticket_id=view.ticket.id,
            change=TicketChange(add_tags=new_tags),
        )
    ]


def set_requester(view: Conversation) -> tuple[Conversation, list[Command]]:
    """The customer became known after their ticket was made without them: tell the ticket."""
    ticket = view.ticket
    if ticket is None or view.ticket_requested or ticket.status == "closed":
        return view, []  # none yet (the create carries them), being made, or frozen
    return view, [
        ChangeTicket(
            conversation_id=view.conversation_id,
            ticket_id=ticket.id,
            change=TicketChange(requester=requester_of(view.customer)),
        )
    ]


def comment_for(item: Item) -> Comment:
    """The comment that shows `item` on a ticket: public from the customer, else internal."""
    if item.kind == "user":
        return Comment(body=item.text, public=True, by_requester=True)
    if item.kind == "assistant":
        return Comment(body=f"AI agent: {item.text}", public=False)
    if item.kind == "tool":
        return Comment(body=item.text, public=False)
    if item.kind == "note":
        return Comment(body=f"Note from the AI agent: {item.text}", public=False)
    return Comment(body=f"Escalated by the AI agent: {item.text}", public=False)


def requester_of(customer: Customer | None) -> Requester | None:
    """The ticket's requester for a chat customer, when one is known."""
    if customer is None:
        return None
    return Requester(name=customer.name, email=customer.email, external_id=customer.id)
