"""Facts ticketsync records about its own calls: the outcomes the projections learn from.

They are appended to the log by the outbox dispatcher (source "ticketsync"), so that
rebuilding the read models from the log alone reproduces which ticket a conversation has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ticketsync.events.tickets import TicketRef


@dataclass(frozen=True, kw_only=True)
class TicketCreated:
    """A CreateTicket call succeeded."""

    conversation_id: str
    call_id: str
    ticket: TicketRef
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class TicketFoundClosed:
    """A call was refused because the ticket is closed."""

    conversation_id: str
    call_id: str
    ticket_id: str
    occurred_at: datetime
