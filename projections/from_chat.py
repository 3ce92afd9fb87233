"""What each chat event (events/chat.py) does to the conversation, and the calls it asks for.

Deliveries may arrive in any order and more than once: items are keyed, so a repeat adds
nothing, and what happened before the resolution in force goes on the ticket but reopens
nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from ticketsync.events.chat import (
    ConversationEscalated,
    ConversationResolved,
    ConversationStarted,
    IntentsDetected,
    MessageCreated,
    NoteAdded,
    ToolExecuted,
)
from ticketsync.events.commands import Command
from ticketsync.projections.policy import Policy, needs_ticket
from ticketsync.projections.settle import RESOLUTION_STATUS, set_status, settle
from ticketsync.projections.ticket_sync import request_ticket, set_requester, sync_item, sync_tags
from ticketsync.projections.view import Conversation, Item, seen, with_changes

MAX_NOTE_PART = 2000

# Conversation statuses that a customer's new message undoes.
SETTLED = frozenset(
    {
        "resolved",
        "pending_customer",
        "duplicate",
        "resolved_by_agent",
        "awaiting_customer",
        "closed",
    }
)


def started(
    view: Conversation, event: ConversationStarted, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """The customer, subject and channel; the ticket learns its requester if it has none."""
    known = view.customer is not None
    view = with_changes(
        view,
        customer=event.customer,
        subject=event.subject or view.subject,
        channel=event.channel or view.channel,
    )
    if known:
        return view, []
    # Delivered after the ticket was made (deliveries may arrive in any order).
    return set_requester(view)


def message(
    view: Conversation, event: MessageCreated, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """A message goes on the ticket; a customer's new one reopens a settled conversation."""
    # Built as with_changes copies: a rebuild makes one per message, and the generated
    # __init__ of a frozen dataclass sets each field through object.__setattr__.
    item = object.__new__(Item)
    item.__dict__.update(key=f"message:{event.message_id}", kind=event.role, text=event.content)
    if seen(view, item.key):
        return view, []  # a repeat must not reopen the conversation either
    if before_resolution(view, event.occurred_at):
        # Written before the resolution, delivered after it: it belongs on the ticket,
        # but it is no customer writing *again*, so it reopens nothing.
        return add_item(view, item, policy, late=True, new=True)
    if event.role == "user" and view.status in SETTLED:
        # The customer writing again opens the conversation, however it was settled.
        view = with_changes(view, status="open", resolution=None)
    return add_item(view, item, policy, new=True)


def tool_executed(
    view: Conversation, event: ToolExecuted, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """A tool run is an item of its own and counts the tool as used."""
    view = with_changes(
        view, tools=view.tools if event.tool in view.tools else (*view.tools, event.tool)
    )
    text = clip(
        f"Tool {event.tool} ({event.status})\nInput: {event.input_json}\nOutput: {event.output_json}"
    )
    key = f"tool:{event.tool}:{event.occurred_at.isoformat()}:{hash_text(text)}"
    return add_item(view, Item(key=key, kind="tool", text=text), policy)


def intents_detected(
    view: Conversation, event: IntentsDetected, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """New intents join the list (and the ticket's tags); the latest detection names the primary."""
    merged = view.intents + tuple(i for i in event.intents if i not in view.intents)
    primary, primary_at = view.primary_intent, view.primary_intent_at
    # The latest detection names the primary intent, whatever order deliveries arrive in.
    if event.intents and (primary_at is None or event.occurred_at >= primary_at):
        primary, primary_at = event.intents[0], event.occurred_at
    view = with_changes(view, intents=merged, primary_intent=primary, primary_intent_at=primary_at)
    if view.ticket is None or view.ticket_requested or view.ticket.status == "closed":
        return view, []
    return sync_tags(view)


def escalated(
    view: Conversation, event: ConversationEscalated, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """An escalation opens a ticket, or opens the one there is again."""
    key = f"escalation:{event.occurred_at.isoformat()}:{hash_text(event.reason)}"
    if seen(view, key):
        return view, []  # a repeat must not undo a later resolution, nor reopen the ticket
    if before_resolution(view, event.occurred_at):
        # An escalation the resolution already answered: shown, and nothing undone.
        view = with_changes(view, escalation_reason=event.reason)
        return add_item(
            view,
            Item(key=key, kind="escalation", text=event.reason),
            policy,
            late=True,
            new=True,
        )
    view = with_changes(view, escalation_reason=event.reason, status="escalated", resolution=None)
    view, commands = add_item(
        view, Item(key=key, kind="escalation", text=event.reason), policy, new=True
    )
    if view.ticket is not None and not view.ticket_requested and view.ticket.status != "closed":
        view, more = set_status(view, "open")
        commands += more
    return view, commands


def resolved(
    view: Conversation, event: ConversationResolved, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """The resolution in force, and the status it asks of the ticket."""
    if before_resolution(view, event.occurred_at):
        return view, []  # an older resolution than the one in force
    view = with_changes(
        view,
        resolution=event.resolution,
        status=event.resolution,
        resolved_at=event.occurred_at,
    )
    if view.ticket is None or view.ticket_requested or view.ticket.status == "closed":
        return view, []
    return settle(view, RESOLUTION_STATUS[event.resolution])


def note_added(
    view: Conversation, event: NoteAdded, policy: Policy
) -> tuple[Conversation, list[Command]]:
    """The AI agent's note: an internal note on the ticket, or kept until the ticket exists.

    It opens no ticket (CONTRACT section 4 names what does) and reopens nothing: it is for
    the people on the ticket, not a step the customer took.
    """
    key = f"note:{event.occurred_at.isoformat()}:{hash_text(event.text)}"
    if seen(view, key):
        return view, []
    item = Item(key=key, kind="note", text=event.text)
    return add_item(view, item, policy, new=True)


def add_item(
    view: Conversation, item: Item, policy: Policy, *, late: bool = False, new: bool = False
) -> tuple[Conversation, list[Command]]:
    """A new item: on the ticket if there is one, or the reason to open one.

    A `late` item happened before the resolution now in force: it goes on the ticket as it
    is, but reopens nothing and opens no follow-up ticket. `new`: the caller has already
    checked that the item is not a repeat.
    """
    if not new and seen(view, item.key):
        return view, []
    view = with_changes(view, items=(*view.items, item))
    ticket = view.ticket
    if view.ticket_requested:
        return view, []  # sent once the ticket exists (see from_outcomes.created)
    if ticket is not None and ticket.status == "closed" and not policy.closed_reopens:
        if item.kind != "user" or late:
            return view, []
        # A closed ticket takes no more changes: the customer's follow-up opens a new ticket,
        # which shows their message first.
        view, create = request_ticket(view, policy, lead=item)
        return view, [create]
    if ticket is not None:
        return sync_item(view, item, reopen=not late)
    if needs_ticket(view, policy):
        view, create = request_ticket(view, policy)
        return view, [create]
    return view, []


def before_resolution(view: Conversation, occurred_at: datetime) -> bool:
    """Whether something happened before the resolution now in force."""
    return (
        view.resolution is not None
        and view.resolved_at is not None
        and occurred_at < view.resolved_at
    )


def clip(text: str, limit: int = MAX_NOTE_PART) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hash_text(text: str) -> str:
    """A short stable digest, to key items that carry no id of their own."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]
