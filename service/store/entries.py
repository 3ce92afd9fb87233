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
    # What the delivery's signed body says it is (Jira: "changelog:10071"), for a source
    # whose dedup id is not signed: a delivery naming one stored already is its duplicate.
    content_key: str | None = None

    @property
    def key(self) -> str:
        """The log-wide identity of this entry, used to deduplicate."""
        return f"{self.source}:{self.delivery_id}"

    @property
    def named(self) -> str | None:
        """The log-wide identity of what the body names, when it names one."""
        return None if self.content_key is None else f"{self.source}:{self.content_key}"


@dataclass(frozen=True, kw_only=True)
class LogEntry(NewEntry):
    """An entry as stored, with its position in the log (commit order)."""

    position: int


@dataclass(frozen=True, kw_only=True)
class Appended:
    """The outcome of appending one entry.

    `status` is "accepted" (stored now), "duplicate" (stored before with the same body, or
    another delivery naming the same content key was) or "conflict" (stored before with
    another body; nothing stored now). `position` is the stored entry's.
    """

    status: Literal["accepted", "duplicate", "conflict"]
    position: int
