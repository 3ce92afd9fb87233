"""Fakes that satisfy the adapters' Protocols and record what they were asked."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ticketsync.adapters.ports import CallFailed, NotFound, TicketClosed
from ticketsync.events.tickets import Comment, NewTicket, TicketChange, TicketRef, TicketSnapshot


@dataclass
class FakeTicket:
    id: str
    ticket: NewTicket
    status: str = "new"
    tags: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    priority: str | None = None
    group: str | None = None


class FakeHelpDesk:
    """An in-memory help desk. `fail(method, error, times)` makes calls fail first."""

    system = "fake"

    def __init__(self) -> None:
        self.tickets: dict[str, FakeTicket] = {}
        self.keys: dict[str, str] = {}
        self.calls: list[tuple[str, Any]] = []
        self.failures: dict[str, list[CallFailed]] = {}
        self.apply_then_fail: dict[str, list[CallFailed]] = {}
        self._ids = itertools.count(1)  # ids are never reused, even after a ticket is deleted
        # What read_ticket answers for a ticket, as a test sets it (None: not on the desk).
        self.snapshots: dict[str, TicketSnapshot] = {}

    def fail(
        self, method: str, error: CallFailed, times: int = 1, *, after_applying: bool = False
    ) -> None:
        """The next `times` calls of `method` raise `error` (after doing their work, if asked)."""
        target = self.apply_then_fail if after_applying else self.failures
        target.setdefault(method, []).extend([error] * times)

    def _maybe_fail(self, method: str, registry: dict[str, list[CallFailed]]) -> None:
        pending = registry.get(method)
        if pending:
            raise pending.pop(0)

    def _ref(self, ticket: FakeTicket) -> TicketRef:
        return TicketRef(
            system=self.system, id=ticket.id, url=f"fake://{ticket.id}", status=ticket.status
        )  # type: ignore[arg-type]

    def create_ticket(self, ticket: NewTicket, *, idempotency_key: str) -> TicketRef:
        self.calls.append(("create_ticket", (ticket, idempotency_key)))
        self._maybe_fail("create_ticket", self.failures)
        if idempotency_key in self.keys:
            created = self.tickets[self.keys[idempotency_key]]
        else:
            created = FakeTicket(id=str(next(self._ids)), ticket=ticket, tags=list(ticket.tags))
            self.tickets[created.id] = created
            self.keys[idempotency_key] = created.id
        self._maybe_fail("create_ticket", self.apply_then_fail)
        return self._ref(created)

    def find_tickets(self, external_id: str) -> list[TicketRef]:
        self.calls.append(("find_tickets", external_id))
        return [self._ref(t) for t in self.tickets.values() if t.ticket.external_id == external_id]

    def _ticket(self, ticket_id: str) -> FakeTicket:
        if ticket_id not in self.tickets:
            raise NotFound(f"no ticket {ticket_id}", status=404)
        ticket = self.tickets[ticket_id]
        if ticket.status == "closed":
            raise TicketClosed(f"ticket {ticket_id} is closed", status=422)
        return ticket

    def add_comment(self, ticket_id: str, comment: Comment) -> None:
        self.calls.append(("add_comment", (ticket_id, comment)))
        self._maybe_fail("add_comment", self.failures)
        self._ticket(ticket_id).comments.append(comment)
        self._maybe_fail("add_comment", self.apply_then_fail)

    def has_comment(self, ticket_id: str, body: str) -> bool:
        self.calls.append(("has_comment", (ticket_id, body)))
        return any(c.body == body for c in self.tickets[ticket_id].comments)

    def change_ticket(self, ticket_id: str, change: TicketChange) -> TicketRef:
        self.calls.append(("change_ticket", (ticket_id, change)))
        self._maybe_fail("change_ticket", self.failures)
        ticket = self._ticket(ticket_id)
        ticket.status = change.status or ticket.status
        ticket.priority = change.priority or ticket.priority
        ticket.group = change.group or ticket.group
        ticket.tags += [t for t in change.add_tags if t not in ticket.tags]
        if change.requester is not None:
            ticket.ticket = replace(ticket.ticket, requester=change.requester)
        return self._ref(ticket)

    def read_ticket(
        self, ticket_id: str, *, since: datetime | None = None
    ) -> TicketSnapshot | None:
        self.calls.append(("read_ticket", (ticket_id, since)))
        self._maybe_fail("read_ticket", self.failures)
        return self.snapshots.get(ticket_id)

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)
