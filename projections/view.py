"""The conversation read model: what ticketsync knows of one conversation and its ticket.

Frozen values only. `with_changes` is the copy every step of the projection makes of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from ticketsync.events.chat import Customer
from ticketsync.events.commands import CreateTicket
from ticketsync.events.tickets import TicketStatus

T = TypeVar("T")
ItemKind = Literal["user", "assistant", "tool", "escalation", "note"]


@dataclass(frozen=True, kw_only=True)
class Item:
    """One step of the conversation that a ticket should show: a message, a tool run, an
    escalation, the AI agent's note."""

    key: str
    kind: ItemKind
    text: str


@dataclass(frozen=True, kw_only=True)
class Known:
    """The newest change of one field of a ticket that the help desk told of, by its own id
    and clock (projections/ordering.py)."""

    field: str  # status | priority | group | assignee
    change_id: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class Ticket:
    system: str
    id: str
    url: str | None = None
    # The help desk's status, or "deleted" for a ticket the help desk no longer has.
    status: TicketStatus | Literal["deleted"] | None = None
    status_name: str | None = None  # the help desk's own name for it (Jira's workflows)
    priority: str | None = None
    group: str | None = None
    assignee: str | None = None
    known: tuple[Known, ...] = ()  # per field, the newest change applied that named an id
    # The help desk's time of the ticket's last change, as the latest read of it showed:
    # a read showing an older state is not applied (projections/from_reads.py).
    read_at: datetime | None = None


Holder = Literal["agent", "human"]


@dataclass(frozen=True, kw_only=True)
class Control:
    """Who should answer the customer: the AI agent, or the people on the ticket
    (projections/control.py has the rules). `since` is when it last changed hands."""

    holder: Holder = "agent"
    reason: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """What ticketsync knows of one conversation, and of the ticket that follows it."""

    conversation_id: str
    status: str = "open"
    customer: Customer | None = None
    subject: str | None = None
    channel: str | None = None
    items: tuple[Item, ...] = ()
    tools: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    primary_intent: str | None = None
    primary_intent_at: datetime | None = None
    escalation_reason: str | None = None
    resolution: str | None = None
    ticket: Ticket | None = None
    ticket_requested: bool = False
    tickets_requested: int = 0
    previous_tickets: tuple[Ticket, ...] = ()
    synced: tuple[str, ...] = ()  # item keys the current ticket already shows
    tagged: tuple[str, ...] = ()  # tags the current ticket already has (as far as we sent)
    pending_create: CreateTicket | None = None
    resolved_at: datetime | None = None  # when the latest resolution happened (chat's clock)
    # "status:<s>" and "priority:<p>" changes we asked for, until their echo
    expected: tuple[str, ...] = ()
    replied: tuple[str, ...] = ()  # comment ids already sent to the chat
    lowered: str | None = None  # the ticket whose priority a resolution lowered already
    control: Control = Control()
    facts: int = 0  # facts decided for the chat (told or filtered out), numbering the next

    @property
    def user_messages(self) -> int:
        return [item.kind for item in self.items].count("user")

    @property
    def message_count(self) -> int:
        kinds = [item.kind for item in self.items]
        return kinds.count("user") + kinds.count("assistant")

    def intents_by_priority(self) -> tuple[str, ...]:
        """Detected intents with the primary one first."""
        if self.primary_intent is None:
            return self.intents
        return (self.primary_intent, *(i for i in self.intents if i != self.primary_intent))


def with_changes(value: T, **changes: object) -> T:
    """A copy of a frozen dataclass with `changes`: `dataclasses.replace` without the
    introspection it repeats on every call, which dominated a rebuild's profile. The copy
    gets a dictionary of its own, built whole: filling the new object's empty one key by
    key took half as long again."""
    copy = object.__new__(type(value))
    fields = value.__dict__.copy()
    fields.update(changes)
    object.__setattr__(copy, "__dict__", fields)
    return copy


def seen(view: Conversation, key: str) -> bool:
    """Whether the conversation already has the item keyed `key`."""
    return key in [item.key for item in view.items]
