"""The append-only log's unit: one entry per delivery or per fact ticketsync records.

An entry keeps what arrived exactly as it arrived (`raw`, the request body) beside the
few fields the log is indexed and audited by. A delivery's `data` is what ingest understood
of it, its typed event (service/store/codec.py `dump_event`), which is what the projections
read; ticketsync's own entries carry their facts in `data` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Source = Literal["chat", "zendesk", "jira", "ticketsync"]
SOURCES: tuple[Source, ...] = ("chat", "zendesk", "jira", "ticketsync")


@dataclass(frozen=True, kw_only=True)
class NewEntry:
    """An entry about to be appended. `delivery_id` is unique per source."""

    source: Source
    delivery_id: str
    type: str
    occurred_at: datetime
    recorded_at: datetime
    conversation_id: str | None = None
    ticket: str | None = None  # "<system>:<id>", e.g. "zendesk:123"
    caused_by: str | None = None
    raw: str | None = None  # the request body, for deliveries from outside
    data: str | None = None  # JSON text: a delivery's typed event, or ticketsync's own facts

    @property
    def key(self) -> str:
        """The log-wide identity of this entry, used to deduplicate."""
        return f"{self.source}:{self.delivery_id}"


@dataclass(frozen=True, kw_only=True)
class LogEntry(NewEntry):
    """An entry as stored, with its position in the log (commit order)."""

    position: int


@dataclass(frozen=True, kw_only=True)
class Appended:
    """The outcome of appending one entry.

    `status` is "accepted" (stored now), "duplicate" (stored before with the same body)
    or "conflict" (stored before with another body; nothing stored now).
    """

    status: Literal["accepted", "duplicate", "conflict"]
    position: int
