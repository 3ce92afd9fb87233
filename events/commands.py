"""Outbox commands: calls to outside systems that a decision asks for.

A command is stored in the outbox in the same transaction as the decision, and carries
everything its call needs, so it can be sent (and sent again) long after it was decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ticketsync.events.tickets import Comment, NewTicket, TicketChange, TicketRef


@dataclass(frozen=True, kw_only=True)
class CreateTicket:
    """Open a ticket for a conversation. `number` counts the conversation's tickets from 1."""

    conversation_id: str
    number: int
    ticket: NewTicket
    included: tuple[str, ...]  # keys of the conversation items the ticket's notes cover
    tags: tuple[str, ...]  # the tags sent, to add later intents only once
    # The conversation's earlier tickets: a look-up after a create whose outcome is unknown
    # passes over them (they share the conversation id as external id).
    known_tickets: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AddComment:
    conversation_id: str
    ticket_id: str
    comment: Comment
    item: str | None = None  # the conversation item this comment carries, if any


@dataclass(frozen=True, kw_only=True)
class ChangeTicket:
    conversation_id: str
    ticket_id: str
    change: TicketChange


@dataclass(frozen=True, kw_only=True)
class SendReply:
    """Deliver an agent's public reply to the chat (CONTRACT section 5)."""

    conversation_id: str
    system: str
    ticket_id: str
    comment_id: str
    author_name: str | None
    body: str
    sent_at: datetime


@dataclass(frozen=True, kw_only=True)
class ReadTicket:
    """Read a ticket and its latest comments from the help desk's API, after a notice
    (events.ticket_side.TicketChangeNoticed) that it changed.

    `awaited` is the conversation's `expected` when the read was decided: the changes
    ticketsync asked for before it, which the read shows done (or undone by a person).
    Changes asked for later go out after the read, which cannot show them. `since` is the
    help desk's time of the ticket's state the last read showed: comments made before it
    were in that read, and are not fetched into the log again.
    """

    conversation_id: str
    ticket_id: str
    awaited: tuple[str, ...] = ()
    since: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class TellTicketCreated:
    """Tell the chat its conversation's ticket exists (`ticket.created`, docs/behaviour.md,
    What the chat is told). `number` counts the facts decided for the conversation, from 1:
    with the conversation's id it makes the fact's webhook-id."""

    conversation_id: str
    number: int
    occurred_at: datetime
    ticket: TicketRef
    group: str | None
    priority: str | None
    tags: tuple[str, ...]
    follows: TicketRef | None  # the ticket this one follows up or replaces


@dataclass(frozen=True, kw_only=True)
class TellStatusChanged:
    """Tell the chat its ticket's status changed (`ticket.status_changed`)."""

    conversation_id: str
    number: int
    occurred_at: datetime
    ticket: TicketRef
    previous_status: str | None
    conversation_status: str


@dataclass(frozen=True, kw_only=True)
class TellControlChanged:
    """Tell the chat who should answer the customer now (`control.changed`)."""

    conversation_id: str
    number: int
    occurred_at: datetime
    holder: str  # "human" or "agent"
    reason: str
    ticket: TicketRef | None


Tell = TellTicketCreated | TellStatusChanged | TellControlChanged
# The payload type each tells the chat (docs/behaviour.md, What the chat is told).
TELL_TYPES: dict[type, str] = {
    TellTicketCreated: "ticket.created",
    TellStatusChanged: "ticket.status_changed",
    TellControlChanged: "control.changed",
}


@dataclass(frozen=True, kw_only=True)
class SendAlert:
    """Tell an admin about an incident (a call parked, a help desk failing) or its end.

    `incident` names the incident (the same for its alert and its recovery); `text` is the
    whole message, written when it was decided.
    """

    incident: str
    recovered: bool
    conversation_id: str | None
    system: str
    text: str


# What the conversation's decisions ask for; alerts are decided apart (projections/alerts.py).
Command = CreateTicket | AddComment | ChangeTicket | SendReply | ReadTicket | Tell

COMMAND_KINDS: dict[type, str] = {
    CreateTicket: "create_ticket",
    AddComment: "add_comment",
    ChangeTicket: "change_ticket",
    SendReply: "send_reply",
    TellTicketCreated: "tell_ticket_created",
    TellStatusChanged: "tell_status_changed",
    TellControlChanged: "tell_control_changed",
    SendAlert: "send_alert",
    ReadTicket: "read_ticket",
}
COMMAND_TYPES: dict[str, type] = {kind: command for command, kind in COMMAND_KINDS.items()}
# The kinds of call that go to the chat platform rather than the help desk.
CHAT_KINDS = frozenset(COMMAND_KINDS[kind] for kind in (SendReply, *TELL_TYPES))
