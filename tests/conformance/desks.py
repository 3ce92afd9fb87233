"""The help desks the conformance suite runs against, each behind one small harness.

A harness does, on its desk, what a person or an outage would: an agent replies or changes
a status (and the desk's webhook reaches ticketsync), a ticket is closed behind
ticketsync's back, a create's answer is lost, the desk answers 429 or 503. And it reads a
desk's tickets back in one neutral shape, so each scenario is written once.

A new help desk is done when a harness for it passes every scenario in
test_conformance.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ticketsync.adapters.ports import HelpDesk, OutcomeUnknown, RateLimited, Retryable
from ticketsync.events.tickets import Comment, NewTicket, TicketChange, TicketRef

# What every harness's ticketsync runs with: retries in tens of milliseconds.
FAST_OUTBOX = {
    "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
    "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.5",
    "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "1000",
    "TICKETSYNC_HTTP_TIMEOUT": "1",
}


@dataclass(frozen=True)
class Note:
    public: bool
    body: str


@dataclass(frozen=True)
class DeskTicket:
    """A ticket as its desk holds it, in neutral words.

    `state` is where it is in its workflow: `open` (with an agent), `pending` (waiting for
    the customer) or `done` (solved or closed; in Jira, a `done`-category status).
    """

    id: str
    subject: str
    state: str
    priority: str  # ticketsync's word: low, medium, high, urgent
    group: str | None
    tags: frozenset[str]
    notes: tuple[Note, ...]


class Webhooks(Protocol):
    """How a harness reaches ticketsync: a POST of raw bytes to one of its paths; the
    answer's status and error code (None when it is no error)."""

    def __call__(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str | None]: ...


class Harness(Protocol):
    name: str  # the help desk's `ticket.system`
    # Whether a customer writing to a closed ticket opens a follow-up ticket (Zendesk, the
    # built-in desk) rather than reopening it (Jira).
    closed_opens_follow_up: bool
    # The state a resolution of `pending_customer` leaves the ticket in: `pending`, or
    # `open` where the workflow has no such category (Jira).
    pending_state: str

    def env(self) -> dict[str, str]:
        """ticketsync's settings for this desk."""
        ...

    def wrap(self, desk: HelpDesk) -> HelpDesk:
        """The adapter ticketsync will use (a harness that injects faults in-process wraps it)."""
        ...

    def tickets(self, conversation_id: str) -> list[DeskTicket]:
        """The conversation's tickets on the desk, oldest first."""
        ...

    def agent_reply(self, ticket_id: str, body: str, *, public: bool = True) -> None:
        """An agent comments; the desk tells ticketsync as it would."""
        ...

    def agent_state(self, ticket_id: str, state: str) -> None:
        """An agent moves the ticket to `open`, `pending` or `done`; ticketsync is told."""
        ...

    def forged_reply(self, ticket_id: str, body: str) -> tuple[int, str]:
        """An agent's reply as a forger would send it (a wrong signature, no token): the
        status and error code ticketsync answered."""
        ...

    def close_quietly(self, ticket_id: str) -> None:
        """The ticket is closed (done for good) and no webhook says so."""
        ...

    def lose_next_create_answer(self) -> None:
        """The next create is applied, and its answer never arrives."""
        ...

    def rate_limit_next(self, retry_after: int) -> None:
        """The next call is answered 429 with Retry-After."""
        ...

    def outage(self, calls: int) -> None:
        """The next `calls` calls are answered 503 (no Retry-After)."""
        ...


class Faulty:
    """A help desk with faults injected in front of it, for a desk that has no HTTP to break
    (the built-in one): an answer lost after the create was applied, 429, 503."""

    def __init__(self, desk: HelpDesk):
        self.desk = desk
        self.system = desk.system
        self.faults: list[Callable[[str], None]] = []
        self.lose_create = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.desk, name)  # the agents' side (AgentDesk) and anything else

    def _fault(self, operation: str) -> None:
        if self.faults:
            self.faults.pop(0)(operation)

    def create_ticket(self, ticket: NewTicket, *, idempotency_key: str) -> TicketRef:
        self._fault("create")
        created = self.desk.create_ticket(ticket, idempotency_key=idempotency_key)
        if self.lose_create:
            self.lose_create -= 1
            raise OutcomeUnknown("the answer was lost")
        return created

    def find_tickets(self, external_id: str) -> list[TicketRef]:
        return self.desk.find_tickets(external_id)

    def add_comment(self, ticket_id: str, comment: Comment) -> None:
        self._fault("comment")
        self.desk.add_comment(ticket_id, comment)

    def has_comment(self, ticket_id: str, body: str) -> bool:
        return self.desk.has_comment(ticket_id, body)

    def change_ticket(self, ticket_id: str, change: TicketChange) -> TicketRef:
        self._fault("change")
        return self.desk.change_ticket(ticket_id, change)


def rate_limited(seconds: int) -> Callable[[str], None]:
    def fault(operation: str) -> None:
        raise RateLimited("429 Too Many Requests", status=429, retry_after=seconds)

    return fault


def unavailable(operation: str) -> None:
    raise Retryable("503 Service Unavailable", status=503)
