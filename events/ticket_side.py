"""What happens on the help desk's side of a ticket, in the help desk's neutral terms.

Zendesk webhooks, Jira webhooks and the built-in help desk's agent actions all become
these events. `actor_id` is the help-desk user who made the change, so ticketsync can tell
its own changes (which come back as webhooks) from people's. `change_id` is the help desk's
own id of a change where it names one that orders its changes (Jira's changelog `id`), so a
replayed or overtaken change can be told from a new one; None where it names none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ticketsync.events.tickets import Priority, TicketStatus


@dataclass(frozen=True, kw_only=True)
class TicketCommentAdded:
    system: str
    ticket_id: str
    comment_id: str
    body: str
    public: bool
    author_id: str | None
    author_name: str | None
    author_is_agent: bool
    external_id: str | None
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class TicketStatusChanged:
    system: str
    ticket_id: str
    status: TicketStatus
    previous: TicketStatus | None
    actor_id: str | None
    external_id: str | None
    occurred_at: datetime
    status_name: str | None = None  # the help desk's own name (see TicketRef.status_name)
    change_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketPriorityChanged:
    system: str
    ticket_id: str
    priority: Priority | None
    actor_id: str | None
    external_id: str | None
    occurred_at: datetime
    change_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketGroupChanged:
    system: str
    ticket_id: str
    group_id: str | None
    group: str | None  # the group's name, when the payload carries it
    actor_id: str | None
    external_id: str | None
    occurred_at: datetime
    change_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketAssigneeChanged:
    system: str
    ticket_id: str
    assignee_id: str | None
    assignee: str | None  # the assignee's name, when the payload carries it
    actor_id: str | None
    external_id: str | None
    occurred_at: datetime
    change_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketChangeNoticed:
    """The help desk said that a ticket changed, and nothing more that ticketsync believes.

    A Zendesk trigger's body is a template into which Zendesk pastes what people wrote, so
    whatever else it says (which comment, whose, the ticket's fields) may be a customer's
    text. ticketsync reads the ticket from the help desk's API instead (commands.ReadTicket)
    and acts on that (outcomes.TicketRead). `comment_id` is the comment the body named,
    kept for the audit trail only.
    """

    system: str
    ticket_id: str
    comment_id: str | None
    external_id: str | None
    occurred_at: datetime


TicketEvent = (
    TicketCommentAdded
    | TicketStatusChanged
    | TicketPriorityChanged
    | TicketGroupChanged
    | TicketAssigneeChanged
)
