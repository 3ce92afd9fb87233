"""What ticketsync asks of a help desk, in the help desk's neutral terms.

These values cross from the reconciliation policy to the ticketing adapters. Priorities
and statuses are ticketsync's own words; each adapter maps them to its system's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high", "urgent")

# Zendesk's status vocabulary is the richest of the help desks ticketsync speaks to, so it
# is the canonical one; other adapters map their workflows onto it.
TicketStatus = Literal["new", "open", "pending", "hold", "solved", "closed"]
TICKET_STATUSES: tuple[TicketStatus, ...] = ("new", "open", "pending", "hold", "solved", "closed")


@dataclass(frozen=True, kw_only=True)
class Requester:
    """The customer a ticket is on behalf of."""

    name: str | None = None
    email: str | None = None
    external_id: str | None = None  # the chat platform's customer id


@dataclass(frozen=True, kw_only=True)
class NewTicket:
    """A ticket to create. `external_id` is the conversation id."""

    external_id: str
    subject: str
    requester: Requester | None
    group: str | None  # a group's name; the adapter finds its id
    priority: Priority
    tags: tuple[str, ...]
    summary: str  # the first comment, an internal note
    follow_up_of: str | None = None  # a closed ticket this one follows up


@dataclass(frozen=True, kw_only=True)
class TicketRef:
    """A ticket as the help desk knows it."""

    system: str
    id: str
    url: str | None = None
    status: TicketStatus | None = None
    # The help desk's own name for the status, where its workflows name their own (Jira's
    # "In Progress" is `open` to ticketsync); None where `status` is the help desk's word.
    status_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Comment:
    """A comment to add: public and written by the requester, or an internal note."""

    body: str
    public: bool
    by_requester: bool = False
    # Set on a requester's comment that must leave the ticket as it is: help desks reopen a
    # solved ticket when its requester writes, so the status is sent along with the comment.
    keep_status: TicketStatus | None = None


@dataclass(frozen=True, kw_only=True)
class TicketChange:
    """Fields to change on a ticket; None leaves a field as it is. Tags are only added."""

    status: TicketStatus | None = None
    priority: Priority | None = None
    group: str | None = None
    assignee: str | None = None
    add_tags: tuple[str, ...] = ()
    requester: Requester | None = None  # set on a ticket that was made without one


@dataclass(frozen=True, kw_only=True)
class DeskComment:
    """A comment as the help desk's API shows it; whether its author is an agent is the
    desk's own record of that user, not anything a webhook said."""

    id: str
    body: str
    public: bool
    author_id: str | None
    author_name: str | None
    author_is_agent: bool
    created_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class TicketSnapshot:
    """A ticket as the help desk's API showed it when ticketsync read it.

    `comments` are its latest comments, oldest first; `updated_at` is the desk's time of
    the ticket's last change, which orders one snapshot against another.
    """

    status: TicketStatus | None
    priority: Priority | None
    group_id: str | None
    group: str | None  # the group's name, where the desk gave it
    assignee_id: str | None
    assignee: str | None  # the assignee's name, where the desk gave it
    updated_at: datetime | None
    comments: tuple[DeskComment, ...] = ()
