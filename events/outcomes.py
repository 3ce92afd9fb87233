"""Facts ticketsync records about its own calls: the outcomes the projections learn from.

They are appended to the log by the outbox dispatcher (source "ticketsync"), so that
rebuilding the read models from the log alone reproduces which ticket a conversation has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ticketsync.events.tickets import TicketRef, TicketSnapshot

# What a help desk's refusal of a call means, whatever words and status it used. Each
# adapter sorts its system's answers into these (its own table); the reconciliation
# policy decides what to do about each (projections/refusals.py).
Refusal = Literal[
    "closed",  # the ticket is closed and takes no more changes
    "gone",  # the ticket no longer exists: deleted, or merged away
    "refused",  # the request itself was refused (bad data, credentials, permissions)
    "transient",  # rate limits, outages, timeouts: the same call may succeed later
]


@dataclass(frozen=True, kw_only=True)
class TicketCreated:
    """A CreateTicket call succeeded."""

    conversation_id: str
    call_id: str
    ticket: TicketRef
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class TicketFoundClosed:
    """A call was refused because the ticket is closed.

    `item` is the conversation item the refused call carried (a customer's message, say),
    which must now reach the conversation's next ticket; None for entries written before
    it was recorded, and for calls that carried none.
    """

    conversation_id: str
    call_id: str
    ticket_id: str
    occurred_at: datetime
    item: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketFoundGone:
    """A call was refused because the ticket no longer exists (deleted or merged away)."""

    conversation_id: str
    call_id: str
    ticket_id: str
    occurred_at: datetime
    item: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketRead:
    """A ReadTicket call's answer: the ticket as the help desk's API showed it, or None
    when the desk has no such ticket. `awaited` is the read's own (commands.ReadTicket)."""

    conversation_id: str
    call_id: str
    system: str
    ticket_id: str
    snapshot: TicketSnapshot | None
    awaited: tuple[str, ...] = ()
    occurred_at: datetime
