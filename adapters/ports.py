"""The interfaces adapters implement, and the errors they raise.

TicketsyncError
 +-- CallFailed                 a call to an outside system did not succeed
      +-- Retryable             try again later (`retry_after` seconds when the system said)
      |    +-- RateLimited      429: `retry_after` from Retry-After
      |    +-- OutcomeUnknown   the request may have been applied (timeout, reset after sending)
      +-- Permanent             retrying the same call cannot help
           +-- NotFound         the ticket does not exist (deleted or merged away)
           +-- TicketClosed     the ticket is closed and refuses changes

Each class names the `refusal` it stands for (events.outcomes.Refusal); each adapter's
own table sorts its system's answers into these classes, and the reconciliation policy
(projections.refusals) decides what to do about each: retry, park, or recover.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from ticketsync.events.commands import SendAlert, SendReply, Tell
from ticketsync.events.errors import TicketsyncError
from ticketsync.events.outcomes import Refusal
from ticketsync.events.tickets import Comment, NewTicket, TicketChange, TicketRef, TicketSnapshot


class CallFailed(TicketsyncError):
    """A call to an outside system failed; `status` is the HTTP status when there was one."""

    refusal: ClassVar[Refusal] = "transient"

    def __init__(self, detail: str, *, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.status = status


class Retryable(CallFailed):
    def __init__(self, detail: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(detail, status=status)
        self.retry_after = retry_after


class RateLimited(Retryable):
    pass


class OutcomeUnknown(Retryable):
    """The request was sent but no answer came: it may or may not have taken effect."""


class Permanent(CallFailed):
    refusal: ClassVar[Refusal] = "refused"


class NotFound(Permanent):
    refusal: ClassVar[Refusal] = "gone"


class TicketClosed(Permanent):
    refusal: ClassVar[Refusal] = "closed"


class HelpDesk(Protocol):
    """A ticketing system: Zendesk, Jira or the built-in one."""

    system: str

    def create_ticket(self, ticket: NewTicket, *, idempotency_key: str) -> TicketRef:
        """Create a ticket. The same key must never create a second ticket."""
        ...

    def find_tickets(self, external_id: str) -> list[TicketRef]:
        """Every ticket whose external id is `external_id`, oldest first."""
        ...

    def add_comment(self, ticket_id: str, comment: Comment) -> None:
        """Add a public comment or an internal note.

        A help desk that reopens a ticket when its requester comments sets the ticket's
        status to `comment.keep_status` in the same update, where that is given.
        """
        ...

    def has_comment(self, ticket_id: str, body: str) -> bool:
        """Whether the ticket already has a comment with exactly this body.

        Asked before sending a comment again whose first attempt had an unknown outcome.
        """
        ...

    def change_ticket(self, ticket_id: str, change: TicketChange) -> TicketRef:
        """Change status, priority, group, assignee or add tags; returns the ticket after."""
        ...


@runtime_checkable
class TicketReader(Protocol):
    """A help desk whose tickets ticketsync reads back: where its webhooks are notices to be
    checked against its API (Zendesk's trigger deliveries), not the truth."""

    def read_ticket(
        self, ticket_id: str, *, since: datetime | None = None
    ) -> TicketSnapshot | None:
        """The ticket's fields and latest comments (those made at or after `since`, when
        given), with each author's role as the desk records it; None when the desk has no
        such ticket. Raises CallFailed."""
        ...


class ChatReplies(Protocol):
    """Where an agent's public reply goes back to the customer's chat (CONTRACT section 5)."""

    def send(self, reply: SendReply) -> None:
        """Deliver one reply. Every retry of one reply must be the same delivery to the chat.

        Raises the CallFailed subclasses above.
        """
        ...

    def tell(self, tell: Tell) -> None:
        """Deliver one fact of the conversation's ticket or hand-over; as `send`."""
        ...


class AdminAlerts(Protocol):
    """Where an admin is told of parked calls and failing help desks (an incoming webhook)."""

    def send(self, alert: SendAlert) -> None:
        """Deliver one alert's text. Raises the CallFailed subclasses above."""
        ...


class AgentTicket(Protocol):
    """A ticket as an agent's action leaves it: what the ticket-side events it records name."""

    id: int
    external_id: str
    status: str
    priority: str
    group: str | None
    assignee: str | None


@runtime_checkable
class AgentDesk(Protocol):
    """The agents' side of a help desk that ticketsync hosts (the built-in one): agents
    comment and change tickets through ticketsync's API instead of the desk's own.

    Each action runs `also` with the transaction's cursor, so the events recording it are
    appended in the same transaction as the change.
    """

    def agent_comment(
        self,
        ticket_id: str,
        *,
        author: str,
        body: str,
        public: bool,
        also: Callable[[Any, AgentTicket, int], None],
    ) -> int:
        """Add an agent's comment; returns its id. Raises NotFound or TicketClosed."""
        ...

    def agent_change(
        self,
        ticket_id: str,
        change: TicketChange,
        *,
        also: Callable[[Any, AgentTicket, AgentTicket], None],
    ) -> AgentTicket:
        """Change fields as an agent; returns the ticket after. Raises NotFound or TicketClosed."""
        ...


@dataclass(frozen=True)
class Delivery:
    """A verified, well-formed webhook delivery: what ingest stores of it."""

    delivery_id: str  # the dedup key
    type: str  # the delivery's own name for what happened
    occurred_at: datetime
    event: object | None  # the typed event; None: a type ticketsync does not act on
    conversation_id: str | None  # None when a ticket-side delivery does not name it
    ticket_id: str | None = None  # the help desk's id of the ticket (ticket side only)
    # What the signed body says this delivery is, where the dedup key is not signed: a
    # delivery naming content stored already is its duplicate (service/store/log.py).
    content_key: str | None = None


@dataclass(frozen=True)
class WebhookSource:
    """One webhook target (CONTRACT sections 2 and 3): how a delivery is checked and read.

    In this order, each raising Refused: `check_headers` refuses what the headers alone
    show (signature headers missing or malformed) before the body is read, and returns
    what `verify` needs of them; `verify(body, checked, now)` checks the signature over the
    raw bytes; `parse(body, headers)` reads the verified body.
    """

    source: str  # the log's source name: chat, zendesk, jira
    check_headers: Callable[[Mapping[str, str]], Any]
    verify: Callable[[bytes, Any, float], object]
    parse: Callable[[bytes, Mapping[str, str]], Delivery]
